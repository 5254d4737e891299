"""A wall-clock deadline and the job's cancel flag for one upstream call, enforced mid-read.

A socket read timeout is per recv, so an upstream that trickles a byte a second never trips
it. While a call runs, a watchdog thread checks its deadline and cancel check and, when either
trips, shuts the call's socket down: a read blocked in any phase (status line, headers, body)
returns at once, and the call ends with a typed error (deadline) or Cancelled (cancel).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sora_app.pipeline.types import CancelCheck

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.05
"""How often the watchdog looks at the deadline and the cancel check."""
DEADLINE, CANCEL = "deadline", "cancel"

_current = threading.local()
"""The guard of the call this thread is making, for the connections it sends on."""


class GuardTripped(OSError):
    """The call's deadline passed or its job was cancelled; raised wherever that is noticed.

    An OSError, so that raised inside urllib3 it is handled like a dropped connection (and
    then refused a retry by the budget, which sees the guard tripped).
    """


def _never() -> bool:
    return False


class CallGuard:
    """Deadline + cancel for one logical call (every attempt), with its watchdog thread."""

    def __init__(self, deadline: float, should_cancel: CancelCheck | None = None) -> None:
        self.deadline = deadline
        self.should_cancel = should_cancel or _never
        self.tripped: str | None = None
        self.received = 0
        """Body bytes of the current attempt read so far, for the deadline's message."""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._connections: list[HTTPConnection] = []
        self._outer: CallGuard | None = None
        self._thread = threading.Thread(target=self._watch, name="upstream-watchdog", daemon=True)

    def __enter__(self) -> CallGuard:
        self._outer = getattr(_current, "guard", None)
        _current.guard = self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        _current.guard = self._outer
        self.forget()
        self._wake.set()
        self._thread.join()

    def _due(self) -> str | None:
        """Why the call must stop now, if it must; cancel wins over the deadline."""
        if self.should_cancel():
            return CANCEL
        if time.monotonic() >= self.deadline:
            return DEADLINE
        return None

    def _watch(self) -> None:
        while not self._wake.wait(WATCH_SECONDS):
            reason = self._due()
            if reason:
                self.trip(reason)
                return

    def trip(self, reason: str) -> None:
        """Record why, wake any backoff sleep and shut every socket this call is using."""
        with self._lock:
            if self.tripped:
                return
            self.tripped = reason
            connections = list(self._connections)
        self._wake.set()
        for conn in connections:
            if getattr(conn, "call_guard", None) is self:  # not since handed to another call
                _shutdown(conn)
        log.info("upstream call stopped reason=%s sockets=%d", reason, len(connections))

    def check(self) -> None:
        """Between chunks and attempts: raise if tripped, or trip now if due."""
        reason = self.tripped or self._due()
        if reason:
            self.trip(reason)
            raise GuardTripped(reason)

    def pause(self, seconds: float) -> None:
        """Wait, but no longer than until the call trips."""
        if seconds > 0:
            self._wake.wait(seconds)

    def sleep(self, seconds: float) -> None:
        """A backoff wait that a trip cuts short, raising GuardTripped if it did."""
        self.pause(seconds)
        self.check()

    def watch(self, conn: HTTPConnection) -> None:
        """Called as a connection sends: a tripped call may not send, a live one is watched."""
        with self._lock:
            if not self.tripped:
                conn.call_guard = self  # type: ignore[attr-defined]
                self._connections.append(conn)
                return
        raise GuardTripped(self.tripped)

    def forget(self) -> None:
        """An attempt is over: its connection may go back to the pool and serve other calls."""
        with self._lock:
            for conn in self._connections:
                if getattr(conn, "call_guard", None) is self:
                    conn.call_guard = None  # type: ignore[attr-defined]
            self._connections.clear()


def _shutdown(conn: HTTPConnection) -> None:
    """Unblock a read in another thread: shutdown (not close) is what wakes a blocked recv."""
    sock = conn.sock
    if sock is None:
        return
    with contextlib.suppress(OSError):  # already closed: nothing left to unblock
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch_current(conn: HTTPConnection) -> None:
    guard: CallGuard | None = getattr(_current, "guard", None)
    if guard is not None:
        guard.watch(conn)


class GuardedHTTPConnection(HTTPConnection):
    """Registers itself with the calling thread's guard before each request it sends."""

    def request(self, *args: Any, **kw: Any) -> None:
        _watch_current(self)
        super().request(*args, **kw)


class GuardedHTTPSConnection(HTTPSConnection):
    """The TLS twin of GuardedHTTPConnection."""

    def request(self, *args: Any, **kw: Any) -> None:
        _watch_current(self)
        super().request(*args, **kw)


class GuardedHTTPPool(HTTPConnectionPool):
    """urllib3 picks the connection class per pool, so the pool is where to swap it."""

    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSPool(HTTPSConnectionPool):
    """The TLS twin of GuardedHTTPPool."""

    ConnectionCls = GuardedHTTPSConnection


GUARDED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": GuardedHTTPPool,
    "https": GuardedHTTPSPool,
}
"""Pool classes for a PoolManager, so every connection it makes can be stopped by a guard."""
