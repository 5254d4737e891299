"""The WebSocket side of jobs/events.py: one socket's state, its messages, and its wait.

A socket sleeps on one threading.Event that two things set: simple_websocket's reader thread
(a client message arrived; `Server.event` is the Event its `receive` waits on) and this
process's EventHub (a change of the socket's owner was published). So a job change reaches
the socket at once, with no per-socket polling and no DB connection held while it sleeps.
Each send carries the job's `version`; `subscribe_task {videoId, version}` resumes after it.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from simple_websocket import Server

from ..jobs import events, service
from ..jobs.spec import dimensions_of
from ..models import FINAL_STATUSES, LOCAL_USER_ID, VIDEO_ID_PREFIX, Job, JobStatus
from .common import task_view
from .stream_slots import Slot, stream_slots

MAX_SEEN = 1000
"""Jobs whose last sent version a socket remembers (a dashboard follows many over time)."""
_rendered: events.Rendered[tuple[str, int], tuple[str, dict[str, Any]]] = events.Rendered()


@dataclass
class Connection:
    """One socket's state: who it acts for and what it follows."""

    ws: Server
    id: str
    auth_required: bool
    owner: str | None = None
    tasks: set[str] = field(default_factory=set)
    everything: bool = False
    token_claims: dict[str, Any] | None = None
    token_expires: float | None = None
    seen: OrderedDict[str, tuple[int, tuple[str, int, str]]] = field(default_factory=OrderedDict)
    """Per job: the version and (status, progress, message) last sent."""
    last_write: float = field(default_factory=time.monotonic)
    slot: Slot | None = None
    auth_deadline: float | None = None
    """When an anonymous socket of AUTH_MODE=required is closed unless it authenticated."""
    cursor: int = 0

    def take_slot(self, owner: str) -> bool:
        """Hold a stream slot for `owner` (only sockets that act for someone hold one)."""
        if self.slot is not None and self.slot.owner == owner:
            return True
        self.drop_slot()
        self.slot = stream_slots().acquire(owner)
        return self.slot is not None

    def drop_slot(self) -> None:
        if self.slot is not None:
            self.slot.release()
            self.slot = None

    def send(self, kind: str, payload: dict[str, Any]) -> None:
        body = {"type": kind, "timestamp": int(time.time() * 1000), "payload": payload}
        self.ws.send(json.dumps(body))
        self.last_write = time.monotonic()

    def error(self, code: str, message: str, **extra: Any) -> None:
        self.send("error", {"code": code, "message": message, **extra})

    def on_change(self, change: events.Change) -> None:
        """Hub listener (runs in the publisher's thread): wake this socket if it may care."""
        if change.concerns(self.owner or LOCAL_USER_ID):
            self.ws.event.set()


def task_message(job: Job) -> tuple[str, dict[str, Any]]:
    """The live message for a job's current state: progress, completed or failed.

    Rendered once per job version for all sockets of the process.
    """
    return _rendered.get((job.id, service.event_version(job)), lambda: _render(job))


def _render(job: Job) -> tuple[str, dict[str, Any]]:
    task = task_view(job)
    ids = {"videoId": task["videoId"], "externalVideoId": task["externalVideoId"]}
    ids["version"] = service.event_version(job)
    status = job.job_status
    if status is JobStatus.COMPLETED:
        width, height = dimensions_of(job.request.get("size"), job.request.get("aspect_ratio"))
        result = {"videoUrl": task["videoUrl"], "duration": task["videoDuration"]}
        result["resolution"] = f"{width}x{height}"
        return "taskCompleted", {**ids, "status": "completed", "progress": 100, "result": result}
    if status in FINAL_STATUSES:
        text = job.error_message or f"The task was {status.value}."
        error = {"code": job.error_code or status.value.upper(), "message": text}
        payload = {**ids, "status": status.value, "progress": task["progress"], "error": error}
        return "taskFailed", payload
    payload = {**ids, "status": task["status"], "progress": task["progress"]}
    return "taskProgress", {**payload, "message": task["message"], "etaSeconds": task["etaSeconds"]}


def send_job(conn: Connection, job: Job) -> None:
    """Send a job's state unless this socket has it (same or older version, or the same
    status, progress and message: a change of the log lines alone says nothing new here)."""
    version = service.event_version(job)
    mark = (job.status, int(job.progress), job.substatus)
    last = conn.seen.get(job.id)
    if last is not None and (version <= last[0] or last[1] == mark):
        conn.seen[job.id] = (max(version, last[0]), last[1])
        return
    conn.seen[job.id] = (version, mark)
    conn.seen.move_to_end(job.id)
    while len(conn.seen) > MAX_SEEN:
        conn.seen.popitem(last=False)
    conn.send(*task_message(job))


def push_changes(conn: Connection) -> None:
    """Send the new states of the followed jobs the hub announced since the last look."""
    conn.cursor, changes = events.hub().changes(conn.cursor)
    owner = conn.owner or LOCAL_USER_ID
    due: dict[str, None] = {}
    for change in changes:
        if change.job_id is None:  # lost messages: re-read everything followed
            due.update(dict.fromkeys(conn.tasks))
            due.update(dict.fromkeys(conn.seen if conn.everything else ()))
        elif change.job_id in conn.tasks or (conn.everything and change.owner_id == owner):
            due[change.job_id] = None
    for job_id in due:
        job = service.live_job(job_id)
        if job is None or job.owner_id != owner:
            if job_id in conn.tasks:  # deleted while followed
                conn.tasks.discard(job_id)
                conn.error(
                    "TASK_NOT_FOUND", "The task was deleted.", videoId=VIDEO_ID_PREFIX + job_id
                )
            continue
        send_job(conn, job)
        if job.job_status in FINAL_STATUSES:
            conn.tasks.discard(job.id)


def wait(conn: Connection, timeout: float) -> None:
    """Sleep until a client message, a relevant job change, or `timeout`."""
    conn.ws.event.wait(max(0.0, timeout))
