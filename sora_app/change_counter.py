"""A count of the database commits that wrote something, shared by every process on this box.

Why: a polled read (`/api/progress` about once a second from every open client) may replay
its last answer for as long as nothing was written since (polled_reads.py). Knowing that
without asking the database needs one number that every writer moves right after its commit
and every reader can look at for the price of reading 8 bytes: a counter in a small file
next to the database, memory-mapped by each process.

Only for a SQLite file: every process that can write it runs on this box and uses this code,
so no commit goes uncounted. A server database (PostgreSQL) has writers on other hosts that
would not move it, so there is no counter then and reads keep asking the database.

The count moves after the commit (SQLAlchemy's `after_commit`), never before: a reader that
sees the new number and then reads the database finds the new rows.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
import threading
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session

from .extensions import db

log = logging.getLogger(__name__)

EXTENSION_KEY = "sora_change_counter"
WROTE = "sora_wrote"
"""session.info flag: this transaction wrote something, so its commit counts."""
_COUNT = struct.Struct("<Q")


class ChangeCounter:
    """One 64-bit count in a shared, memory-mapped file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < _COUNT.size:
            os.ftruncate(self._fd, _COUNT.size)  # zeros; a second process doing it changes nothing
        self._map = mmap.mmap(self._fd, _COUNT.size)
        self._lock = threading.Lock()
        """flock excludes other processes only; the threads of this one share the descriptor."""

    def value(self) -> int:
        return _COUNT.unpack_from(self._map)[0]

    def bump(self) -> None:
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                _COUNT.pack_into(self._map, 0, (self.value() + 1) % 2**64)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def sqlite_file(url: str) -> Path | None:
    """The database file of a sqlite:/// URL; None for a server database or an in-memory one."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite":
        return None
    if database.startswith("file:"):  # sqlite:///file:/path?mode=ro&uri=true
        database = urlsplit(database).path
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        return None
    return Path(database).resolve()


def init_change_counter(app: Flask) -> ChangeCounter | None:
    """Count this app's commits when its database is a SQLite file; the counter, or None."""
    database = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if database is None:
        return None
    path = database.with_name(database.name + ".changes")
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        counter = ChangeCounter(path)
    except OSError as exc:  # a read-only or full folder: reads just keep asking the database
        log.info("no change counter, polled reads are not replayed path=%s error=%s", path, exc)
        return None
    app.extensions[EXTENSION_KEY] = counter
    _listen()
    return counter


def counter_for(app: Flask) -> ChangeCounter | None:
    return app.extensions.get(EXTENSION_KEY)


def _listen() -> None:
    """Once per process: the hooks are on the session factory every app shares (db.session)."""
    if event.contains(db.session, "after_commit", _committed):
        return
    event.listen(db.session, "do_orm_execute", _executed)
    event.listen(db.session, "after_flush", _flushed)
    event.listen(db.session, "after_commit", _committed)
    event.listen(db.session, "after_rollback", _forget)


def _executed(state: ORMExecuteState) -> None:
    """UPDATE/INSERT/DELETE statements (the job store's way of writing)."""
    if state.is_update or state.is_delete or state.is_insert:
        state.session.info[WROTE] = True


def _flushed(session: Session, _context: object) -> None:
    """Objects added, changed or deleted through the unit of work (users, new jobs)."""
    if session.new or session.dirty or session.deleted:
        session.info[WROTE] = True


def _committed(session: Session) -> None:
    if session.info.pop(WROTE, False) and has_app_context():
        counter = current_app.extensions.get(EXTENSION_KEY)
        if counter is not None:
            counter.bump()


def _forget(session: Session) -> None:
    session.info.pop(WROTE, None)
