"""The polled reads' per-process cache of job rows, checked against the database every time.

Why: every open client polls /api/progress or /api/video/tasks/<id> about once a second, and
loading the whole ORM row (plus what the views derive from it) cost far more than asking the
database one indexed question: "which version is it now?". Each read still asks that question
in a fresh transaction, so a write committed by any worker or host is seen by the very next
read anywhere (the database stays the only truth and durability is its own); the cache only
saves re-loading a row that has not changed since this process last loaded it.

The stamp is (`version`, `updated_at`): the store bumps `version` with every real change, and
`updated_at` also moves on the bookkeeping writes that don't (lease renewal, stage done), so
a cached row is exactly what a direct read would return. Cached rows are detached from any
session and shared by the threads of the process: read them, never change or attach them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from flask import Flask, current_app

from ..extensions import db
from ..models import Job
from . import queries, store

EXTENSION_KEY = "sora_read_cache"
CACHED_JOBS = 4096
"""Rows kept per process (the least recently read go first): the jobs clients are watching."""

Stamp = tuple[int, datetime]


class JobCache:
    """Detached job rows by id, each with the stamp it was loaded at."""

    def __init__(self, size: int = CACHED_JOBS) -> None:
        self.size = size
        self._rows: OrderedDict[str, tuple[Stamp, Job]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.loads = 0

    def get(self, job_id: str, stamp: Stamp) -> Job | None:
        """The cached row if it was loaded at exactly this stamp, else None."""
        with self._lock:
            entry = self._rows.get(job_id)
            if entry is None or entry[0] != stamp:
                return None
            self._rows.move_to_end(job_id)
            self.hits += 1
            return entry[1]

    def put(self, job: Job) -> None:
        with self._lock:
            self._rows[job.id] = ((job.version, job.updated_at), job)
            self._rows.move_to_end(job.id)
            self.loads += 1
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._rows.pop(job_id, None)


def cache_for(app: Flask) -> JobCache:
    """This app's cache (one per process and app: gunicorn builds the app after forking)."""
    cache = app.extensions.get(EXTENSION_KEY)
    if cache is None:
        cache = app.extensions.setdefault(EXTENSION_KEY, JobCache())
    return cache


def _cache() -> JobCache:
    return cache_for(current_app._get_current_object())  # type: ignore[attr-defined]


def _current(job_id: str, stamp: Stamp) -> Job | None:
    """The row at `stamp` from the cache, or loaded now (then possibly newer) and cached."""
    cache = _cache()
    job = cache.get(job_id, stamp)
    if job is not None:
        return job
    job = store.get_job(job_id)
    if job is None:  # deleted between the stamp and the load
        cache.forget(job_id)
        return None
    db.session.expunge(job)  # shared with other threads: no session may expire or refresh it
    cache.put(job)
    return job


def job_for_owner(job_id: str, owner_id: str) -> Job | None:
    """The owner's job as the database has it now; None if missing or someone else's."""
    row: Any = queries.job_stamp(job_id)
    if row is None or row.owner_id != owner_id:
        return None
    return _current(job_id, (row.version, row.updated_at))


def latest_for_owner(owner_id: str) -> Job | None:
    """The owner's newest job as the database has it now; None if they have none."""
    row: Any = queries.latest_stamp(owner_id)
    if row is None:
        return None
    return _current(row.id, (row.version, row.updated_at))
