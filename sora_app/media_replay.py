"""Video bytes sent again below Flask, for a few seconds after Flask said yes to the same ask.

Why: a player seeking through a video asks for one byte range after another, and each went
through routing, auth, the ownership query, hooks and werkzeug before one `sendfile` call;
that Python (not the bytes) held 1 MiB ranges to a quarter of what nginx serves. So once
Flask has answered `GET /api/video/<file>` with 200 or 206, the same ask (same file, Origin,
Host and forwarding headers, no credentials) within SORA_MEDIA_REPLAY_SECONDS (5) is
answered here:
Flask's own headers (CORS, caching, ETag, Last-Modified) with this request's range, and the
body handed to the server's `wsgi.file_wrapper`, which gunicorn sends with sendfile.

Behind nginx with X-Accel-Redirect the remembered answer is Flask's header-only one, and
nginx sends the bytes and the range from its internal location.

What keeps it exact and safe:
- only requests without credentials (no Authorization, cookie or query string, where a
  `token=` would be): in open mode
  those all act for the local user; a credential always goes to Flask, so a logout or a
  revoked key ends access at once (in required mode nothing is replayed);
- only what Flask already allowed, for at most a few seconds, and only while the file is
  the one Flask served (it is opened anew each time: a deleted video is seen at once);
- a single plain `bytes=` range, or none; anything else (several ranges, a malformed or
  unsatisfiable one, If-Range, If-None-Match, If-Modified-Since) goes to Flask, which knows
  the rules for them.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.wsgi import wrap_file

from .api.media_send import BLOCK, FileRange, carries_credentials
from .observe.request_context import HEADER as REQUEST_ID
from .observe.request_context import request_id_of
from .polled_reads import StartResponse

VIDEO = re.compile(r"/api/video/[A-Za-z0-9][A-Za-z0-9_-]{0,120}\.mp4")
RANGE = re.compile(r"bytes=(\d*)-(\d*)")
KEPT = 1024
IDENTITY = (
    "PATH_INFO", "QUERY_STRING", "HTTP_ORIGIN", "HTTP_HOST", "wsgi.url_scheme",
    "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PREFIX", "SCRIPT_NAME",
)  # fmt: skip
CONDITIONAL = ("HTTP_IF_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH")
PER_ANSWER = frozenset({"content-length", "content-range", "date", REQUEST_ID.lower()})
"""Headers each answer makes for itself; the rest are Flask's, kept."""


@dataclass(frozen=True)
class Allowed:
    """Flask's yes: the file it sent (by identity on disk), its headers, and when."""

    path: str
    inode: int
    size: int
    mtime_ns: int
    headers: tuple[tuple[str, str], ...]
    at: float
    accel: bool = False
    """Flask handed the bytes to nginx (X-Accel-Redirect): the answer is only headers."""


class MediaReplay:
    """WSGI middleware in front of the app; see the module docstring."""

    def __init__(self, app: Flask, clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = app.wsgi_app
        self.videos_dir = os.fspath(app.config["VIDEOS_DIR"])
        self.keep_seconds = float(app.config["MEDIA_REPLAY_SECONDS"])
        self.clock = clock
        self._allowed: OrderedDict[tuple, Allowed] = OrderedDict()
        self._lock = threading.Lock()
        self.replayed = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or not VIDEO.fullmatch(
            environ.get("PATH_INFO", "")
        ):
            return self.inner(environ, start_response)
        if carries_credentials(environ):
            return self.inner(environ, start_response)
        key = tuple(environ.get(name) for name in IDENTITY)
        with self._lock:
            allowed = self._allowed.get(key)
        if allowed is not None and self.clock() - allowed.at < self.keep_seconds:
            answer = self._replay(allowed, environ, start_response)
            if answer is not None:
                return answer
        return self._ask(key, environ, start_response)

    def _ask(self, key: tuple, environ: dict[str, Any], start_response: StartResponse):
        """Flask's answer, passed on; a 200/206 for a plain ask is remembered."""
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.inner(environ, capture)
        status = seen.get("status", "")
        if status[:3] in ("200", "206") and not any(name in environ for name in CONDITIONAL):
            self._remember(key, environ, seen["headers"])
        return result

    def _remember(self, key: tuple, environ: dict[str, Any], headers: list) -> None:
        name = environ["PATH_INFO"].rsplit("/", 1)[1]
        path = os.path.join(self.videos_dir, name)
        try:
            stat = os.stat(path)
        except OSError:
            return
        kept = tuple((k, v) for k, v in headers if k.lower() not in PER_ANSWER)
        accel = any(k.lower() == "x-accel-redirect" for k, _ in kept)
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        allowed = Allowed(path, *stamp, kept, self.clock(), accel)
        with self._lock:
            self._allowed[key] = allowed
            self._allowed.move_to_end(key)
            while len(self._allowed) > KEPT:
                self._allowed.popitem(last=False)

    def _replay(self, allowed: Allowed, environ: dict[str, Any], start_response: StartResponse):
        """The same file with this request's range, or None to let Flask answer."""
        if any(name in environ for name in CONDITIONAL):
            return None
        if allowed.accel:  # nginx reads the Range itself from its internal location
            if not os.path.exists(allowed.path):
                return None
            start_response("200 OK", [*allowed.headers, ("Content-Length", "0"),
                                      (REQUEST_ID, request_id_of(environ))])  # fmt: skip
            self.replayed += 1
            return [b""]
        span = _span(environ.get("HTTP_RANGE"), allowed.size)
        if span is None:
            return None
        try:
            file = open(allowed.path, "rb")  # noqa: SIM115 (handed to the server, which closes it)
        except OSError:
            return None
        stat = os.fstat(file.fileno())
        if (stat.st_ino, stat.st_size, stat.st_mtime_ns) != (
            allowed.inode, allowed.size, allowed.mtime_ns,
        ):  # fmt: skip
            file.close()
            return None
        start, stop, partial = span
        file.seek(start)
        headers = [*allowed.headers, ("Content-Length", str(stop - start))]
        headers.append((REQUEST_ID, request_id_of(environ)))
        if partial:
            headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{allowed.size}"))
        start_response("206 Partial Content" if partial else "200 OK", headers)
        self.replayed += 1
        body = FileRange(file, stop - start)
        return wrap_file(environ, body, BLOCK)


def _span(header: str | None, size: int) -> tuple[int, int, bool] | None:
    """(start, stop, partial) of one satisfiable `bytes=` range or of the whole file; None
    for anything Flask should decide (several ranges, malformed, unsatisfiable)."""
    if header is None:
        return 0, size, False
    match = RANGE.fullmatch(header.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if not match[1]:  # the last N bytes
        length = int(match[2])
        return (max(0, size - length), size, True) if length > 0 else None
    start = int(match[1])
    stop = min(size, int(match[2]) + 1) if match[2] else size
    if start >= size or stop <= start:
        return None
    return start, stop, True


def init_media_replay(app: Flask) -> MediaReplay | None:
    """Wrap the app unless SORA_MEDIA_REPLAY_SECONDS is 0."""
    if float(app.config["MEDIA_REPLAY_SECONDS"]) <= 0:
        return None
    middleware = MediaReplay(app)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    return middleware
