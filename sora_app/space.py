"""What "out of room" looks like: free space per folder, full disks and unusable databases.

One module, so /health, the refusals at submit and upload, the API's error answers and the
job runner agree on one threshold (HEALTH_MIN_FREE_MB) and on the same words. Flask-free:
it reads a config mapping, classifies exceptions, and drops SQLAlchemy connections that met
a read-only database.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
DISK_FULL_TEXTS = tuple(os.strerror(code).lower() for code in sorted(DISK_FULL_ERRNOS))
"""How a full disk reads once a tool (ffmpeg) has turned the errno into text."""

MEDIA_FOLDERS = {"videos": "VIDEOS_DIR", "work": "WORK_DIR", "uploads": "UPLOADS_DIR"}
"""The folders that grow with every job and upload, by the name /health and errors use."""

NEARLY_FULL_BYTES = 1 << 20
"""Less than this and the next write may not fit (a database's WAL frames, a small file)."""

DATABASE_PROBLEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("disk_full", ("database or disk is full", "could not extend file", "no space left")),
    ("read_only", ("readonly database", "read-only", "read only")),
    ("unavailable", ("unable to open database", "disk i/o error", "database is locked",
                     "could not connect", "connection refused", "server closed the connection")),
)  # fmt: skip
"""SQLite's and PostgreSQL's words for a database that cannot take a write right now."""

POSTGRES_STATES = {"53100": "disk_full", "25006": "read_only", "57P03": "unavailable"}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it (`raise ... from`, or raised while handling)."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def database_problem(exc: BaseException) -> str | None:
    """How the database refused, if it did: "disk_full", "read_only" or "unavailable"."""
    for link in _chain(exc):
        if not isinstance(link, DBAPIError):
            continue
        state = getattr(link.orig, "sqlstate", None) or getattr(link.orig, "pgcode", None)
        if state in POSTGRES_STATES:
            return POSTGRES_STATES[state]
        text = str(link.orig).lower()
        for problem, needles in DATABASE_PROBLEMS:
            if any(needle in text for needle in needles):
                return problem
    return None


@event.listens_for(Engine, "handle_error")
def _reconnect_after_read_only(context: ExceptionContext) -> None:
    """Drop connections that met a read-only database, so a remount rw is seen at once.

    SQLite opens a file read-only for good when it could not open it for writing; without
    this the server would refuse writes until restarted, even after the volume is fixed.
    """
    error = context.sqlalchemy_exception
    if error is not None and database_problem(error) == "read_only":
        context.is_disconnect = True


def is_disk_full(exc: BaseException) -> bool:
    """A file write failed for want of room (the database's own errors are not counted)."""
    for link in _chain(exc):
        if isinstance(link, DBAPIError):
            return False
        if isinstance(link, OSError) and link.errno in DISK_FULL_ERRNOS:
            return True
        if any(text in str(link).lower() for text in DISK_FULL_TEXTS):
            return True
    return False


def _existing(path: Path) -> Path:
    """The folder itself, or its nearest existing parent (a folder not created yet)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(_existing(path)).free


def is_read_only(path: Path) -> bool:
    return bool(os.statvfs(_existing(path)).f_flag & os.ST_RDONLY)


def media_free_mb(config: Mapping[str, Any]) -> dict[str, int]:
    """Free MB of each media folder's filesystem, by folder name."""
    return {name: free_bytes(config[key]) // 2**20 for name, key in MEDIA_FOLDERS.items()}


def low_media_folders(config: Mapping[str, Any]) -> dict[str, int]:
    """The media folders below HEALTH_MIN_FREE_MB (0 turns the check off)."""
    minimum = int(config["HEALTH_MIN_FREE_MB"])
    return {name: mb for name, mb in media_free_mb(config).items() if mb < minimum}


def full_folders(exc: BaseException, config: Mapping[str, Any]) -> list[str]:
    """Which media folder a failed write was in, for a message the user can relay.

    The OSError's file name says, when it has one (a failed flush on close has none); else
    the media folders that are (nearly) full now are the suspects.
    """
    path = next((e.filename for e in _chain(exc) if isinstance(e, OSError) and e.filename), None)
    if path is not None:
        target = Path(os.fsdecode(path)).resolve()
        roots = {name: Path(config[key]).resolve() for name, key in MEDIA_FOLDERS.items()}
        return [name for name, root in roots.items() if target.is_relative_to(root)][:1]
    return [n for n, key in MEDIA_FOLDERS.items() if free_bytes(config[key]) < NEARLY_FULL_BYTES]


def where(folders: list[str]) -> str:
    """["work", "uploads"] -> "the work and uploads folders", for messages."""
    if not folders:
        return "its disk"
    if len(folders) == 1:
        return f"the {folders[0]} folder"
    return f"the {', '.join(folders[:-1])} and {folders[-1]} folders"


def database_folder(uri: str) -> Path | None:
    """The folder of a SQLite database file; None for a server database or in-memory one."""
    try:
        url = make_url(uri)
    except ArgumentError:
        return None
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve().parent


def database_storage_problem(uri: str) -> str | None:
    """ "read_only" or "disk_full" when the database file's filesystem cannot take a write.

    SQLite answers a no-op UPDATE happily on a full disk; only the next real write fails.
    """
    folder = database_folder(uri)
    if folder is None:
        return None
    if is_read_only(folder):
        return "read_only"
    if free_bytes(folder) < NEARLY_FULL_BYTES:
        return "disk_full"
    return None
