"""The Socket.IO side of jobs/events.py: who follows which job, what each was sent, the feeder.

One feeder thread per process (not per connection) waits on the process's EventHub, reads an
announced job once per version (service.live_job) and hands it to every connection following
it. A subscribe sends the job's current state itself, so a finished job answers at once.

Each (connection, job) pair remembers the last version and progress it sent, and every send
is decided and queued under one lock, so a state is never sent twice, an older state never
follows a newer one, and progress never goes backwards, whichever thread (the subscribe
handler or the feeder) reads first. Queuing is cheap: python-engineio only puts the packet on
the session's queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from ..jobs import events, service
from ..models import FINAL_STATUSES, Job, JobStatus
from .common import progress_view
from .live_auth import Identity, session_ended
from .stream_slots import Slot

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS = 100
"""Jobs one connection may follow at once (a library page's worth, and then some)."""
TICK_SECONDS = 1.0
"""How often the feeder wakes without news: checks tokens for expiry or logout."""
IDLE_STOP_SECONDS = 30.0
"""With no connection left this long, the feeder ends and lets the hub's sources idle."""

Emit = Callable[[str, dict[str, Any], str], None]
"""emit(event, payload, sid): queue one event for one connection."""
_rendered: events.Rendered[tuple[str, int], dict[str, Any]] = events.Rendered()


@dataclass
class Follow:
    """What one connection was sent about one job."""

    version: int = 0
    progress: int = 0
    mark: tuple[str, int, str, str] | None = None
    started: bool = False

    def next_event(self, job: Job) -> tuple[str, dict[str, Any]] | None:
        """The event for this newer state of the job, or None when it says nothing new."""
        version = service.event_version(job)
        if version <= self.version:
            return None
        self.version = version
        view = _rendered.get((job.id, version), lambda: progress_view(job))
        status = job.job_status
        if status is JobStatus.COMPLETED:
            return "processing_completed", {
                "job_id": job.id, "video_id": job.id, "video_url": view["video_url"],
                "thumbnail_url": view.get("thumbnail_url"), "duration": view["duration"],
                "progress": 100, "version": version,
            }  # fmt: skip
        if status in FINAL_STATUSES:
            message = job.error_message or f"The job was {status.value}."
            code = job.error_code or status.value.upper()
            return "processing_failed", {
                "job_id": job.id, "error": code, "message": message, "status": status.value,
                "version": version,
            }  # fmt: skip
        self.progress = max(self.progress, int(view["progress"]))
        mark = (status.value, self.progress, str(view["substatus"]), str(view["stage"]))
        if self.started and mark == self.mark:
            return None  # a change of the job's log lines alone: nothing new to show
        kind = "progress_update" if self.started else "processing_started"
        self.started, self.mark = True, mark
        return kind, {
            "job_id": job.id, "status": status.value, "progress": self.progress,
            "message": view["substatus"], "current_step": view["stage"],
            "eta_seconds": view["eta_seconds"], "version": version,
        }  # fmt: skip


@dataclass
class Client:
    """One Socket.IO connection: who it acts for, its stream slot, the jobs it follows."""

    identity: Identity
    slot: Slot
    jobs: dict[str, Follow] = field(default_factory=dict)


class Followers:
    """Every connection of this process and the jobs it follows, under one lock.

    Re-entrant: queuing an event to a connection whose client stopped answering pings makes
    python-engineio close it and run the disconnect handler (remove) in the same thread.
    """

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}

    def add(self, sid: str, client: Client) -> None:
        with self.lock:
            self.clients[sid] = client

    def remove(self, sid: str) -> Client | None:
        with self.lock:
            client = self.clients.pop(sid, None)
        if client is not None:
            client.slot.release()
        return client

    def owner(self, sid: str) -> Identity | None:
        with self.lock:
            client = self.clients.get(sid)
            return client.identity if client else None

    def follow(self, sid: str, job_id: str) -> bool:
        """Start following (again: a re-subscribe gets the current state); False when full."""
        with self.lock:
            client = self.clients.get(sid)
            if client is None:
                return True  # gone meanwhile: deliver() finds nobody
            if job_id not in client.jobs and len(client.jobs) >= MAX_SUBSCRIPTIONS:
                return False
            client.jobs[job_id] = Follow()
            return True

    def unfollow(self, sid: str, job_id: str) -> None:
        with self.lock:
            client = self.clients.get(sid)
            if client is not None:
                client.jobs.pop(job_id, None)

    def followed(self) -> set[str]:
        with self.lock:
            return {job_id for client in self.clients.values() for job_id in client.jobs}

    def deliver(self, job_id: str, job: Job | None, only: str | None = None) -> None:
        """Send the job's state to its followers (or to `only`) that lack it."""
        with self.lock:
            for sid, client in list(self.clients.items()):
                follow = client.jobs.get(job_id)
                if follow is None or (only is not None and sid != only):
                    continue
                if job is None or job.owner_id != client.identity.user_id:
                    del client.jobs[job_id]
                    gone = {"job_id": job_id, "error": "JOB_NOT_FOUND"}
                    self.emit("processing_failed", {**gone, "message": "The job is gone."}, sid)
                    continue
                event = follow.next_event(job)
                if event is None:
                    continue
                if job.job_status in FINAL_STATUSES:
                    del client.jobs[job_id]  # nothing follows a final state
                self.emit(*event, sid)

    def emit(self, kind: str, payload: dict[str, Any], sid: str) -> None:
        """Queue one event; a connection closing meanwhile is not the other followers' problem."""
        try:
            self._emit(kind, payload, sid)
        except Exception as exc:  # engineio's SocketIsClosedError and the like
            log.info("event=socketio_emit_failed sid=%s kind=%s error=%r", sid, kind, exc)

    def signed_in(self) -> list[tuple[str, Identity]]:
        with self.lock:
            return [(s, c.identity) for s, c in self.clients.items() if c.identity.claims]


class Feeder:
    """This process's one thread from the EventHub to the Socket.IO connections."""

    def __init__(self, app: Flask, followers: Followers, end: Callable[[str, str], None]) -> None:
        self.app, self.followers, self.end_session = app, followers, end
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_running(self) -> None:
        """Start the thread if needed, its cursor taken now: nothing published later is missed."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            cursor = events.hub_for(self.app).cursor()
            self._thread = threading.Thread(
                target=self._run, args=(cursor,), name="socketio-feeder", daemon=True
            )
            self._thread.start()

    def _run(self, cursor: int) -> None:
        hub = events.hub_for(self.app)
        idle_since: float | None = None
        next_check = _now() + TICK_SECONDS
        log.info("event=socketio_feeder_start")
        with hub.subscription():
            while True:
                cursor, changes = hub.wait(cursor, max(0.0, next_check - _now()))
                with self.app.app_context():
                    self._push(changes)
                    if _now() >= next_check:  # once a tick, not once a change
                        self._check_sessions()
                        next_check = _now() + TICK_SECONDS
                with self._lock:  # decided under the start lock: a new subscriber restarts us
                    idle_since = _idle(self.followers, idle_since)
                    if idle_since is not None and _now() - idle_since >= IDLE_STOP_SECONDS:
                        self._thread = None
                        break
        log.info("event=socketio_feeder_stop")

    def _push(self, changes: list[events.Change]) -> None:
        followed = self.followers.followed()
        due: dict[str, None] = {}
        for change in changes:
            if change.job_id is None:  # messages were lost: re-read everything followed
                due.update(dict.fromkeys(followed))
            elif change.job_id in followed:
                due[change.job_id] = None
        for job_id in due:
            try:
                self.followers.deliver(job_id, service.live_job(job_id))
            except Exception:  # one bad read must not end every connection's feed
                log.exception("event=socketio_push_failed job=%s", job_id)

    def _check_sessions(self) -> None:
        """A signed-in connection lives no longer than its token: expiry or logout ends it."""
        for sid, identity in self.followers.signed_in():
            reason = session_ended(identity)
            if reason is not None:
                self.end_session(sid, reason)
        service.release_connection()


def _now() -> float:
    return time.monotonic()


def _idle(followers: Followers, since: float | None) -> float | None:
    """When the process last had no connection (None while it has some)."""
    with followers.lock:
        if followers.clients:
            return None
    return since if since is not None else _now()
