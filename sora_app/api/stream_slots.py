"""Slots for long-lived live-update connections (SSE streams and WebSockets).

Each open stream holds one gthread thread for as long as it lives, so a process allows at most
MAX_EVENT_STREAMS of them (requests always keep threads), and one signed-in user at most
MAX_STREAMS_PER_USER, so one account cannot lock everyone else out. A slot is released exactly
once, on every path (finished, refused, failed, HEAD, disconnected): `Slot.release` is
idempotent, and callers hold it in `try/finally` or a response's `call_on_close`.
"""

from __future__ import annotations

import select
import socket
import threading
from collections import Counter
from typing import Any

from flask import current_app

from ..models import LOCAL_USER_ID
from ..observe.meters import meters

EXTENSION_KEY = "sora_stream_slots"
_create_lock = threading.Lock()


class Slot:
    """One held slot; releasing twice is harmless."""

    def __init__(self, pool: StreamSlots, owner: str) -> None:
        self.pool, self.owner = pool, owner
        self._released = False

    def release(self) -> None:
        with self.pool.lock:
            if self._released:
                return
            self._released = True
            meters().streams_open.dec()
            self.pool.total -= 1
            self.pool.per_owner[self.owner] -= 1
            if self.pool.per_owner[self.owner] <= 0:
                del self.pool.per_owner[self.owner]

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


class StreamSlots:
    """Counts open streams per process and per user."""

    def __init__(self, limit: int, per_user: int) -> None:
        self.limit, self.per_user = limit, per_user
        self.lock = threading.Lock()
        self.total = 0
        self.per_owner: Counter[str] = Counter()

    def acquire(self, owner: str) -> Slot | None:
        """A slot, or None when the process or (for signed-in users) the user is full.

        The anonymous local user of AUTH_MODE=open is everyone on that box, so only the
        process limit applies to it.
        """
        with self.lock:
            if self.total >= self.limit:
                return None
            if owner != LOCAL_USER_ID and self.per_owner[owner] >= self.per_user:
                return None
            self.total += 1
            self.per_owner[owner] += 1
        meters().streams_open.inc()
        return Slot(self, owner)


def stream_slots() -> StreamSlots:
    """This app's pool, kept on the app itself like its other per-process state."""
    extensions = current_app.extensions
    with _create_lock:
        if EXTENSION_KEY not in extensions:
            config = current_app.config
            extensions[EXTENSION_KEY] = StreamSlots(
                int(config["MAX_EVENT_STREAMS"]), int(config["MAX_STREAMS_PER_USER"])
            )
        return extensions[EXTENSION_KEY]


def client_gone(environ: dict[str, Any]) -> bool:
    """True once the client closed its connection, seen without writing to it.

    An idle stream would otherwise notice a vanished client only at its next heartbeat write.
    gunicorn hands the socket over in `gunicorn.socket`; other servers don't, and then we can't
    tell (False). A client only ever reads an event stream, so a readable socket with no bytes
    to peek at means EOF.
    """
    sock = environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket) or sock.fileno() < 0:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
