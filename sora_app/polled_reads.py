"""The polled reads answered again, below Flask, while nothing was written on this box.

Why: every open client asks `/api/progress` (or `/api/progress/<id>`, or a task) about once a
second, and almost always nothing changed since the last time. Routing, hooks and two indexed
queries per answer held the server to about half of what a bare Flask app serving a dict does.
While the box-wide commit count (change_counter.py) has not moved, the same request gets the
same answer, so it is replayed byte for byte: status, every header (CORS included) and body.

What keeps a replay exact:
- the count moves after every commit that wrote anything, from any process on this box, and
  an answer is kept under the count read *before* it was computed;
- an answer is kept for at most `READ_REPLAY_SECONDS` (default 0.5 s), because a running
  job's `eta_seconds` moves with the clock, not with writes;
- the request's identity is its path, query, Host, scheme, Origin and forwarding headers; a
  request with credentials (Authorization, cookies, a `token` parameter), an upgrade, or any
  rate limit that could apply always goes to Flask; only 200 JSON answers are kept.

Only with a SQLite file (the embedded default): with PostgreSQL there is no counter, and the
reads go to Flask and the database every time.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from .change_counter import ChangeCounter
from .observe.request_context import HEADER, request_id_of
from .ratelimits import undecorated_limits_exist

POLLED = re.compile(r"/api/(?:progress(?:/[^/]+)?|video/tasks/[^/]+)")
"""GET /api/progress[?job_id=], /api/progress/<id>, /api/video/tasks/<id> (contract 1 and 2)."""
KEPT_ANSWERS = 4096
"""Per process, the least recently asked go first: one per watched job and client origin."""
MAX_BODY = 64 * 1024
IDENTITY = (
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_HOST",
    "wsgi.url_scheme",
    "HTTP_ORIGIN",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PREFIX",
)
"""Everything of a credential-free GET that these views or the CORS and proxy layers read."""
CREDENTIALS = ("HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_UPGRADE")

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Answer:
    count: int
    """The commit count read before the answer was computed."""
    at: float
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class PolledReads:
    """WSGI middleware around the Flask app: replays kept answers, else asks the app."""

    def __init__(
        self,
        app: Flask,
        counter: ChangeCounter,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = app.wsgi_app
        self.counter = counter
        self.keep_seconds = float(app.config["READ_REPLAY_SECONDS"])
        self.clock = clock
        self._answers: OrderedDict[tuple, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.replayed = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        key = _identity(environ)
        if key is None:
            return self.inner(environ, start_response)
        count, now = self.counter.value(), self.clock()
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None and answer.count == count and now - answer.at < self.keep_seconds:
                self._answers.move_to_end(key)
                self.replayed += 1
            else:
                answer = None
        if answer is None:
            return self._ask(environ, start_response, key, count, now)
        start_response(answer.status, [*answer.headers, (HEADER, request_id_of(environ))])
        return [answer.body]

    def _ask(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        key: tuple,
        count: int,
        now: float,
    ) -> Iterable[bytes]:
        """The app's answer, passed on, and kept if it is a small 200 JSON answer."""
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.inner(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if _keepable(seen.get("status", ""), seen.get("headers", []), body):
            kept = tuple(h for h in seen["headers"] if h[0].lower() != HEADER.lower())
            answer = Answer(count, now, seen["status"], kept, body)  # each reply gets its own id
            with self._lock:
                self._answers[key] = answer
                self._answers.move_to_end(key)
                while len(self._answers) > KEPT_ANSWERS:
                    self._answers.popitem(last=False)
        return [body]


def _identity(environ: dict[str, Any]) -> tuple | None:
    """The request's identity if its answer may be replayed, else None."""
    if environ.get("REQUEST_METHOD") != "GET" or not POLLED.fullmatch(environ.get("PATH_INFO", "")):
        return None
    if any(name in environ for name in CREDENTIALS) or "token=" in environ.get("QUERY_STRING", ""):
        return None
    if undecorated_limits_exist():  # an operator's default limit must count every request
        return None
    return tuple(environ.get(name) for name in IDENTITY)


def _keepable(status: str, headers: list[tuple[str, str]], body: bytes) -> bool:
    if not status.startswith("200 ") or len(body) > MAX_BODY:
        return False
    names = {name.lower(): value for name, value in headers}
    return (
        names.get("content-type", "").startswith("application/json") and "set-cookie" not in names
    )


def init_polled_reads(app: Flask, counter: ChangeCounter | None) -> PolledReads | None:
    """Wrap the app when there is a counter and replays are on (READ_REPLAY_SECONDS > 0)."""
    if counter is None or float(app.config["READ_REPLAY_SECONDS"]) <= 0:
        return None
    middleware = PolledReads(app, counter)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    return middleware
