"""Fake upstream servers over real HTTP on loopback, for tests and offline demos.

One threaded werkzeug server speaks the OpenAI wire format (``/v1/models``,
``/v1/chat/completions``, ``/v1/images/generations``, ``/v1/audio/speech``, ``/v1/videos...``)
and Pexels search (``/v1/search`` with image downloads under ``/media/``). Every request needs
``Authorization: Bearer <api_key>`` (or the bare key, Pexels style) except ``/media/`` links.

Faults, per request with the header ``X-Fake-Fault: <name>`` or for the next ``count``
requests of a kind with ``set_fault(kind, name, count)`` (kinds are endpoint names: models,
chat, images, speech, search, media_photo, media_generated, videos_create, videos_get,
videos_list, videos_delete, videos_content, videos_remix; a prefix such as ``videos`` or
``media`` matches all of them, ``*`` matches everything):

- ``slow``: sleep ``slow_seconds`` before answering normally (longer than a client timeout).
- ``400`` ``401`` ``404`` ``408`` ``409`` ``429`` ``500`` ``502`` ``503`` ... any 3-digit status
  in the OpenAI error shape; 429 carries ``Retry-After`` and ``retry-after-ms``
  (``retry_after_ms``); add ``:noretry`` (``503:noretry``) for ``x-should-retry: false``.
- ``malformed_json``: a 200 whose JSON body is cut off.
- ``failed``: on videos_create/videos_get, the video ends ``status: failed`` with an error.
- ``content_404``: a 404 instead of the content.
- ``truncated``: Content-Length promises the whole body, half is sent, the connection closes.
- ``trickle``: the normal answer, but its body goes out ``trickle_bytes`` every
  ``trickle_seconds`` (a read timeout never fires); ``trickle_headers``: an endless status line,
  a byte at a time. Both set ``trickling`` when they start and mark ``client_gone`` in the log
  when the client hangs up first (``wait_hangup``).
- ``bad_poll``: on videos_get, a 200 video object without a ``status``.
- ``disconnect``: the connection is shut without any response.
- refused: a live server cannot refuse, so use ``FakeUpstreams.refused_base_url()`` (a port
  that was just free, nothing listening) or ``stop()`` the server.

Run ``python -m sora_app.devtools.fake_upstreams --port 8089`` to serve until Ctrl-C.
"""

from __future__ import annotations

import argparse
import errno
import logging
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from sora_app.devtools.fake_routes import build_app
from sora_app.devtools.fake_videos import VideoStore

log = logging.getLogger(__name__)


def _kind_matches(pattern: str, kind: str) -> bool:
    return pattern in {"*", kind} or kind.startswith(pattern + "_")


class FakeUpstreams:
    """The fake server, its request log and its switchable faults; usable from tests."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        video_seconds: float = 3.0,
        slow_seconds: float = 5.0,
        retry_after_ms: int = 1000,
        faults: dict[str, str] | None = None,
        cache_dir: Path | None = None,
        trickle_seconds: float = 0.02,
        trickle_bytes: int = 1,
    ) -> None:
        self.api_key = api_key
        self.video_seconds = video_seconds
        self.slow_seconds = slow_seconds
        self.retry_after_ms = retry_after_ms
        self.trickle_seconds = trickle_seconds
        self.trickle_bytes = trickle_bytes
        self.trickling = threading.Event()
        """Set when a trickle starts: lets a test cancel mid-trickle without sleeping."""
        self._own_cache = cache_dir is None
        self.cache_dir = cache_dir or Path(tempfile.mkdtemp(prefix="fake-upstreams-"))
        self.videos = VideoStore()
        self.generated: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._hangup = threading.Condition(self._lock)
        self._faults: dict[str, list[Any]] = {}
        self._log: list[dict[str, Any]] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        for kind, fault in (faults or {}).items():
            self.set_fault(kind, fault)

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve in a daemon thread; returns the OpenAI-style base URL ending in /v1."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            self._server = make_server(host, port, build_app(self), threaded=True)
        except SystemExit as exc:  # werkzeug prints its advice and exits on a busy port
            raise OSError(errno.EADDRINUSE, f"port {port} is in use") from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-upstreams", daemon=True
        )
        self._thread.start()
        self.base_url = f"http://{host}:{self._server.port}/v1"
        log.info("fake upstreams serving base_url=%s", self.base_url)
        return self.base_url

    def stop(self) -> None:
        """Stop serving; afterwards the port refuses connections (until something reuses it)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
        if self._own_cache:
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def __enter__(self) -> FakeUpstreams:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """The server root (download links live under /media, not /v1)."""
        return self.base_url.removesuffix("/v1")

    @staticmethod
    def refused_base_url() -> str:
        """A loopback URL nothing listens on: bind port 0, note the port, close it."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    def set_fault(self, kind: str, fault: str | None, count: int | None = None) -> None:
        """Inject `fault` into the next `count` requests of `kind` (None: until cleared)."""
        with self._lock:
            if fault is None:
                self._faults.pop(kind, None)
            else:
                self._faults[kind] = [fault, count]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self.trickling.clear()

    def take_fault(self, kind: str, header: str | None) -> str | None:
        """The fault for this request: the header wins, else a matching set_fault (counted)."""
        if header:
            return header.strip()
        with self._lock:
            for pattern, slot in list(self._faults.items()):
                if not _kind_matches(pattern, kind):
                    continue
                fault, remaining = slot
                if remaining is not None:
                    slot[1] = remaining - 1
                    if slot[1] <= 0:
                        del self._faults[pattern]
                return fault
        return None

    def record(self, method: str, path: str, kind: str, fault: str | None) -> dict[str, Any]:
        """Append to the request log; the status is filled in when the response is ready."""
        entry = {"method": method, "path": path, "kind": kind, "fault": fault}
        entry |= {"status": None, "at": time.time()}
        with self._lock:
            self._log.append(entry)
        return entry

    def requests(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Logged requests, optionally only those of a kind (prefix rules as for faults)."""
        with self._lock:
            return [dict(e) for e in self._log if kind is None or _kind_matches(kind, e["kind"])]

    def count(self, kind: str | None = None) -> int:
        return len(self.requests(kind))

    def note_hangup(self, entry: dict[str, Any]) -> None:
        """The client closed the connection before the answer was complete."""
        with self._hangup:
            entry["client_gone"] = True
            self._hangup.notify_all()

    def wait_hangup(self, kind: str, timeout: float) -> bool:
        """Wait until a logged request of `kind` saw its client hang up mid-answer."""
        with self._hangup:
            return self._hangup.wait_for(
                lambda: any(
                    e.get("client_gone") for e in self._log if _kind_matches(kind, e["kind"])
                ),
                timeout,
            )

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve fake OpenAI/Pexels upstreams locally.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default="test-key", help="'' accepts any key")
    parser.add_argument("--video-seconds", type=float, default=10.0)
    parser.add_argument("--slow-seconds", type=float, default=60.0)
    parser.add_argument("--fault", action="append", default=[], metavar="KIND=FAULT")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry: print the base URL, serve until Ctrl-C; a busy port is a message, not a trace."""
    args = _parse_args(argv)
    faults = dict(item.split("=", 1) for item in args.fault if "=" in item)
    fake = FakeUpstreams(
        api_key=args.api_key or None,
        video_seconds=args.video_seconds,
        slow_seconds=args.slow_seconds,
        faults=faults,
    )
    try:
        base_url = fake.start(args.port, args.host)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 1
    print(f"fake upstreams at {base_url} (api key: {args.api_key or 'any'}); Ctrl-C stops")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
