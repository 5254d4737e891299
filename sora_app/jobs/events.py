"""Job events pushed to live streams: the store publishes after commit, streams wait here.

SSE (api/events.py) and WebSocket (api/ws_live.py) are thin adapters over one `EventHub` per
process. The DB row stays the truth: an event says only "job X reached version N"; a stream
then reads the row (once per process and version, through the hub's snapshot cache) and sends
the state. `jobs.version` is bumped by the store in the same UPDATE as every real change
(never by a lease renewal), so it is both the event id and the resume point.

How a change reaches the hub of every process (see event_sources.py):
- the writing process: `store` calls `publish_rows` right after its commit (no delay);
- other processes on the same box (the embedded default, several gunicorn workers, SQLite):
  ONE watcher thread per process reads "rows changed in the last minute" (an indexed query)
  every SORA_EVENT_POLL_SECONDS (50 ms) and publishes versions it has not seen. One cheap
  read per process instead of one per stream, and no broker to run; a connection is checked
  out only for that read (~1 ms).
- other hosts (PostgreSQL + Celery): Redis pub/sub when SORA_EVENTS_REDIS_URL (or a redis://
  Celery broker) is set; the watcher then only runs every SORA_EVENT_RESYNC_SECONDS as a
  safety net for messages Redis dropped (pub/sub does not queue for a reconnecting listener).

Within a process the fan-out is a Condition: `publish` appends to a bounded log and wakes
every waiter; each stream keeps its own cursor into the log. No stream holds a DB connection
while it waits.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import Flask, current_app

EXTENSION_KEY = "sora_event_hub"
BACKLOG = 4096
"""Changes kept for slow streams; one that falls further behind re-reads everything."""
KNOWN_JOBS = 20_000
"""Latest published version per job, for de-duplication (oldest forgotten first)."""
_create_lock = threading.Lock()


@dataclass(frozen=True)
class Change:
    """Job `job_id` of `owner_id` is now at `version`; job_id None means "re-read everything"
    (a listener lost messages); version 0 means the row is gone."""

    job_id: str | None
    owner_id: str | None
    version: int

    def concerns(self, owner_id: str | None, job_ids: Iterable[str] | None = None) -> bool:
        if self.job_id is None:
            return True
        if job_ids is not None and self.job_id in job_ids:
            return True
        return owner_id is not None and self.owner_id == owner_id


RESYNC = Change(None, None, 0)


class EventHub:
    """One process's fan-out: a change log under a Condition, plus the latest job snapshots."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seq = 0
        self._log: deque[tuple[int, Change]] = deque(maxlen=BACKLOG)
        self._latest: OrderedDict[str, int] = OrderedDict()
        self._snapshots: dict[str, Any] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._listeners: set[Callable[[Change], None]] = set()
        self.subscribers = 0
        self.on_first_subscriber: Callable[[], None] | None = None

    def cursor(self) -> int:
        """Where a new waiter starts: it gets only changes published after this call."""
        with self._cond:
            return self._seq

    def latest(self, job_id: str) -> int:
        with self._cond:
            return self._latest.get(job_id, 0)

    def publish(self, change: Change) -> bool:
        """Record and announce a change; False (nothing announced) for a version seen before."""
        with self._cond:
            if change.job_id is None:
                self._snapshots.clear()
            elif change.version > 0:
                if self._latest.get(change.job_id, 0) >= change.version:
                    return False
                self._latest[change.job_id] = change.version
                self._latest.move_to_end(change.job_id)
                while len(self._latest) > KNOWN_JOBS:
                    self._latest.popitem(last=False)
            cached = self._snapshots.get(change.job_id) if change.job_id else None
            if cached is not None and (change.version == 0 or cached.version < change.version):
                del self._snapshots[change.job_id]
            self._seq += 1
            self._log.append((self._seq, change))
            self._cond.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(change)
        return True

    def changes(self, cursor: int) -> tuple[int, list[Change]]:
        """Changes after `cursor` (without waiting) and the cursor to use next."""
        with self._cond:
            return self._since(cursor)

    def wait(self, cursor: int, timeout: float) -> tuple[int, list[Change]]:
        """Block until something is published after `cursor` or `timeout` passes."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq != cursor, timeout)
            return self._since(cursor)

    def _since(self, cursor: int) -> tuple[int, list[Change]]:
        if self._seq == cursor:
            return cursor, []
        if not self._log or self._log[0][0] > cursor + 1:  # fell out of the backlog
            return self._seq, [RESYNC]
        newer = itertools.takewhile(lambda item: item[0] > cursor, reversed(self._log))
        return self._seq, [change for _, change in reversed(list(newer))]

    def snapshot(self, job_id: str, load: Callable[[], Any]) -> Any:
        """The job's newest state, read at most once per version by all streams of this process.

        `load` returns an object with `.version` (detached from any session) or None (gone).
        A cached snapshot is dropped as soon as a newer version is published, and one read
        before a publish is not cached over it, so a cached state is never known to be stale.
        """
        with self._cond:
            cached = self._snapshots.get(job_id)
            if cached is not None:
                return cached
            lock = self._loading.setdefault(job_id, threading.Lock())
        with lock:  # one reader per job; the other streams wait for its result
            with self._cond:
                cached = self._snapshots.get(job_id)
            if cached is not None:
                return cached
            found = load()
            with self._cond:
                self._loading.pop(job_id, None)
                if found is not None and found.version >= self._latest.get(job_id, 0):
                    self._snapshots[job_id] = found
                    if len(self._snapshots) > KNOWN_JOBS:
                        self._snapshots.clear()
            return found

    @contextlib.contextmanager
    def subscription(self, listener: Callable[[Change], None] | None = None) -> Iterator[None]:
        """A stream's lifetime: the first one starts this process's change sources."""
        with self._cond:
            self.subscribers += 1
            first = self.subscribers == 1
            if listener is not None:
                self._listeners.add(listener)
        if first and self.on_first_subscriber is not None:
            self.on_first_subscriber()
        try:
            yield
        finally:
            with self._cond:
                self.subscribers -= 1
                if listener is not None:
                    self._listeners.discard(listener)


K = TypeVar("K")
V = TypeVar("V")


class Rendered(Generic[K, V]):
    """Messages rendered once per job version for every stream of the process.

    A hundred subscribers of one job need its message once per change (building one reads
    the ETA's speed file). The least recently used of `size` keys go first.
    """

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._messages: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, render: Callable[[], V]) -> V:
        with self._lock:
            hit = self._messages.get(key)
        if hit is not None:
            return hit
        message = render()  # outside the lock: two streams may render the same one, harmlessly
        with self._lock:
            self._messages[key] = message
            while len(self._messages) > self.size:
                self._messages.popitem(last=False)
        return message


def hub_for(app: Flask) -> EventHub:
    """This app's hub (one per process: gunicorn loads the app after forking)."""
    with _create_lock:
        hub = app.extensions.get(EXTENSION_KEY)
        if hub is None:
            from .event_sources import Sources

            hub = EventHub()
            sources = Sources(app, hub)
            hub.on_first_subscriber = sources.start
            app.extensions[EXTENSION_KEY] = hub
            app.extensions[EXTENSION_KEY + "_sources"] = sources
        return hub


def hub() -> EventHub:
    return hub_for(current_app._get_current_object())  # type: ignore[attr-defined]


def publish_rows(rows: Iterable[tuple[str, str | None, int]]) -> None:
    """Called by the store after a commit: (job id, owner id, new version) per changed row.

    Never raises: a job write must not fail because a listener or Redis is unwell.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    changes = [Change(job_id, owner_id, int(version)) for job_id, owner_id, version in rows]
    if not changes:
        return
    local = hub_for(app)
    for change in changes:
        local.publish(change)
    app.extensions[EXTENSION_KEY + "_sources"].broadcast(changes)
