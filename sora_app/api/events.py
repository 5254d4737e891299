"""Server-Sent Events: a thin adapter over jobs/events.py (pushed, not polled).

A stream reads the current state first, then waits on the process's EventHub without a DB
connection, and on each announced change of its job(s) sends the row's newest state (read once
per version for all streams of the process). Event ids are the job's `version` (bumped by real
changes only), so `/api/jobs/<id>/events` with `Last-Event-ID: N` sends exactly the states
after N: nothing twice, nothing missed. On `/api/events` (all of the caller's jobs, whose
versions are per job) an id is `<job id>:<version>`, and a reconnect gets the current state of
the owner's active and recently changed jobs, except one it provably has. Idle streams get a
`: ping` comment every SORA_EVENT_HEARTBEAT_SECONDS (never a repeated event).
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, request, stream_with_context

from ..auth import current_owner
from ..errors import APIError
from ..jobs import events, service
from ..models import CONTRACT1_STATUS, FINAL_STATUSES, Job
from .common import progress_view
from .docs import EventStream, documented
from .schemas.events import SSE_EVENTS, ResumeHeaders
from .stream_slots import client_gone, stream_slots

bp = Blueprint("events", __name__, url_prefix="/api")

EVENT_ID = re.compile(r"(?:([0-9a-f]{1,64}):)?([0-9]{1,13})")
"""An id we sent: a version, or `<job id>:<version>` on /api/events. 13 digits: ids of the
release before versions were milliseconds since 1970; such a resume starts afresh."""
CLOCK_IDS = 10**12
CLIENT_CHECK_SECONDS = 0.1
"""How often an idle stream checks that its client is still there (no DB involved)."""
RECONNECT_LOOKBACK_MS = 10 * 60 * 1000
"""A resumed /api/events stream also replays jobs changed this recently (ids are per job)."""


@dataclass(frozen=True)
class Resume:
    """Where a stream starts: after `version` (of `job_id`, on /api/events)."""

    job_id: str | None = None
    version: int = 0


def _resume() -> Resume:
    raw = request.headers.get("Last-Event-ID") or request.args.get("lastEventId") or "0"
    match = EVENT_ID.fullmatch(raw)
    if match is None:
        raise APIError(
            400, "VALIDATION_ERROR", "Last-Event-ID must be an event id we sent.",
            field="Last-Event-ID",
        )  # fmt: skip
    version = int(match.group(2))
    return Resume(match.group(1), 0 if version >= CLOCK_IDS else version)


def _message(job: Job, *, tagged: bool) -> str:
    """The event for a job's state, rendered once per version for all streams of the process."""
    version = service.event_version(job)

    def render() -> str:
        body = progress_view(job)
        status = job.job_status
        kind = "progress" if status not in FINAL_STATUSES else CONTRACT1_STATUS[status]
        event_id = f"{job.id}:{version}" if tagged else str(version)
        return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(body)}\n\n"

    return _rendered.get((job.id, version, tagged), render)


_rendered: events.Rendered[tuple[str, int, bool], str] = events.Rendered()


class Feed:
    """What one stream has sent: the last version per job (bounded), and its hub cursor."""

    def __init__(self, owner: str, job_id: str | None, resume: Resume) -> None:
        self.owner, self.job_id = owner, job_id
        self.hub = events.hub()
        self.cursor = self.hub.cursor()  # before the first read: no change falls in between
        self.sent: OrderedDict[str, int] = OrderedDict()
        self.finished = False
        """A followed job's final state is one the client already has (a resume after it)."""
        if resume.version and (job_id is not None or resume.job_id is not None):
            self.sent[job_id or str(resume.job_id)] = resume.version

    def first(self, resume: Resume) -> list[str]:
        """Ids to read first: the job, or the owner's active (and, resuming, recent) jobs."""
        if self.job_id is not None:
            return [self.job_id]
        jobs = service.active_for_owner(self.owner)
        if resume.job_id is not None or resume.version:
            since = int(time.time() * 1000) - RECONNECT_LOOKBACK_MS
            jobs += service.feed(self.owner, since)
        service.release_connection()
        return list(dict.fromkeys(job.id for job in jobs))

    def due(self, changes: list[events.Change]) -> list[str]:
        """Ids among `changes` this stream must re-read (all it follows after a resync)."""
        ids: dict[str, None] = {}
        for change in changes:
            if change.job_id is None:
                ids.update(dict.fromkeys(self.sent if self.job_id is None else [self.job_id]))
            elif change.job_id == self.job_id or (
                self.job_id is None and change.owner_id == self.owner
            ):
                ids[change.job_id] = None
        return list(ids)

    def messages(self, job_ids: list[str]) -> Iterator[tuple[str, Job | None]]:
        """The message for each job whose newest state this client lacks."""
        for job_id in job_ids:
            job = service.live_job(job_id)
            if job is None or job.owner_id != self.owner:
                yield "", None
                continue
            version = service.event_version(job)
            if version <= self.sent.get(job.id, 0):
                self.finished |= job.id == self.job_id and job.job_status in FINAL_STATUSES
                continue
            self.sent[job.id] = version
            self.sent.move_to_end(job.id)
            while len(self.sent) > MAX_REMEMBERED:
                self.sent.popitem(last=False)
            yield _message(job, tagged=self.job_id is None), job


MAX_REMEMBERED = 1000


def _stream(owner: str, job_id: str | None, resume: Resume, environ: dict) -> Iterator[str]:
    heartbeat = float(current_app.config["EVENT_HEARTBEAT_SECONDS"])
    yield "retry: 1000\n\n"
    feed = Feed(owner, job_id, resume)
    with feed.hub.subscription():
        due = feed.first(resume)
        last_write = time.monotonic()
        while True:
            for message, job in feed.messages(due):
                if job is None:
                    if job_id is not None:
                        return  # deleted while followed
                    continue
                last_write = time.monotonic()
                yield message
                if job_id is not None and job.job_status in FINAL_STATUSES:
                    return
            if feed.finished:
                return
            wait = min(CLIENT_CHECK_SECONDS, max(0.0, last_write + heartbeat - time.monotonic()))
            feed.cursor, changes = feed.hub.wait(feed.cursor, wait)
            due = feed.due(changes)
            if time.monotonic() - last_write >= heartbeat:
                last_write = time.monotonic()
                yield ": ping\n\n"
            if not changes and client_gone(environ):  # free the slot now, not at a failed write
                return


def _response(job_id: str | None) -> Response:
    owner, resume = current_owner(), _resume()  # bad input is refused before a slot is taken
    if request.method == "HEAD":  # headers only: no stream, so no slot to hold
        return event_stream_response(iter(()))
    slot = stream_slots().acquire(owner)
    if slot is None:
        raise APIError(
            429, "TOO_MANY_STREAMS", "Too many open event streams; close one or poll instead.",
            headers={"Retry-After": "5"},
        )  # fmt: skip
    environ = request.environ

    def generate() -> Iterator[str]:
        with slot:
            yield from _stream(owner, job_id, resume, environ)

    response = event_stream_response(stream_with_context(generate()))
    response.call_on_close(slot.release)  # a body never iterated (or cut short) still frees it
    return response


def event_stream_response(body: Iterator[str]) -> Response:
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response


@bp.get("/jobs/<job_id>/events")
@documented(
    "One job's changes as Server-Sent Events (ends with the job)",
    headers=ResumeHeaders,
    responses={
        200: EventStream("The current state, then each change (id: the job's version).", SSE_EVENTS)
    },
    errors={400: "VALIDATION_ERROR", 404: "JOB_NOT_FOUND", 429: "TOO_MANY_STREAMS"},
    auth="media",
)
def job_events(job_id: str):
    """One job's changes; the current state first, and the stream ends when the job does.

    A reconnect that already has the finished job's last event gets 204, which tells a
    browser's EventSource to stop reconnecting (any other answer makes it retry forever).
    """
    job = service.get_for_owner(job_id, current_owner())
    if job.job_status in FINAL_STATUSES and _resume().version >= service.event_version(job):
        return Response(status=204)
    service.release_connection()  # the stream reads again when it starts; hold nothing
    return _response(job.id)


@bp.get("/events")
@documented(
    "Every change to any of your jobs, as Server-Sent Events",
    headers=ResumeHeaders,
    responses={
        200: EventStream(
            "Your active jobs' states, then each change (id: <job id>:<version>).", SSE_EVENTS
        )
    },
    errors={400: "VALIDATION_ERROR", 429: "TOO_MANY_STREAMS"},
    auth="media",
)
def all_events():
    """Every change to any of the caller's jobs, for dashboards and the task list."""
    return _response(None)
