"""Server-Sent Events: pushed job progress instead of polling.

Mechanism: each stream polls the job table (the source of truth) every EVENT_POLL_SECONDS
and sends rows whose `updated_at` moved. That reaches subscribers in every gunicorn
process, whichever process runs the job, with no broker; the scale-out work moves it
onto Redis pub/sub. Event ids are `updated_at` in milliseconds, so a reconnect with
`Last-Event-ID` resumes exactly after the last event it saw.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request, stream_with_context

from ..auth import current_owner
from ..errors import APIError
from ..jobs import service
from ..models import CONTRACT1_STATUS, FINAL_STATUSES, Job
from .common import progress_view
from .stream_slots import client_gone, stream_slots

bp = Blueprint("events", __name__, url_prefix="/api")

EVENT_ID = re.compile(r"[0-9]{1,13}")
"""An id we sent (milliseconds since 1970); `isdigit()` would pass "²", and 20 digits overflow."""


def _since() -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("lastEventId") or "0"
    if not EVENT_ID.fullmatch(raw):
        raise APIError(
            400, "VALIDATION_ERROR", "Last-Event-ID must be an event id we sent.",
            field="Last-Event-ID",
        )  # fmt: skip
    return int(raw)


def _message(job: Job) -> str:
    body = progress_view(job)
    kind = "progress" if job.job_status not in FINAL_STATUSES else CONTRACT1_STATUS[job.job_status]
    return f"id: {service.event_version(job)}\nevent: {kind}\ndata: {json.dumps(body)}\n\n"


def _ended_before(owner: str, job_id: str, floor: int) -> bool:
    """A resumed stream of a job whose last event the client already has: nothing to wait for."""
    job = service.current_view(job_id, owner)
    return job is None or (job.job_status in FINAL_STATUSES and service.event_version(job) <= floor)


def _stream(owner: str, job_id: str | None, since: int, environ: dict) -> Iterator[str]:
    config = current_app.config
    poll, heartbeat = float(config["EVENT_POLL_SECONDS"]), float(config["EVENT_HEARTBEAT_SECONDS"])
    sent: set[tuple[str, int]] = set()
    floor = since  # a resumed stream sends only what came strictly after Last-Event-ID
    last_write = time.monotonic()
    yield f"retry: {int(poll * 2000)}\n\n"
    if job_id is None and since == 0:  # a fresh dashboard: what is going on now, then changes
        since = int(time.time() * 1000)
        for job in service.active_for_owner(owner):
            sent.add((job.id, service.event_version(job)))
            yield _message(job)
    while True:
        for job in service.feed(owner, since, job_id):
            version = service.event_version(job)
            if version <= floor or (job.id, version) in sent:
                continue
            sent.add((job.id, version))
            since = max(since, version)
            last_write = time.monotonic()
            yield _message(job)
            if job_id is not None and job.job_status in FINAL_STATUSES:
                return
        if job_id is not None and _ended_before(owner, job_id, floor):
            return
        if time.monotonic() - last_write >= heartbeat:
            last_write = time.monotonic()
            yield ": ping\n\n"
        sent = {(i, v) for i, v in sent if v >= since}
        time.sleep(poll)
        if client_gone(environ):  # free the slot now, not at the next heartbeat's failed write
            return


def _response(job_id: str | None) -> Response:
    owner, since = current_owner(), _since()  # bad input is refused before a slot is taken
    if request.method == "HEAD":  # headers only: no stream, so no slot to hold
        return _event_stream_response(iter(()))
    slot = stream_slots().acquire(owner)
    if slot is None:
        raise APIError(
            429, "TOO_MANY_STREAMS", "Too many open event streams; close one or poll instead.",
            headers={"Retry-After": "5"},
        )  # fmt: skip
    environ = request.environ

    def generate() -> Iterator[str]:
        with slot:
            yield from _stream(owner, job_id, since, environ)

    response = _event_stream_response(stream_with_context(generate()))
    response.call_on_close(slot.release)  # a body never iterated (or cut short) still frees it
    return response


def _event_stream_response(body: Iterator[str]) -> Response:
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response


@bp.get("/jobs/<job_id>/events")
def job_events(job_id: str):
    """One job's changes; the current state first, and the stream ends when the job does."""
    return _response(service.get_for_owner(job_id, current_owner()).id)


@bp.get("/events")
def all_events():
    """Every change to any of the caller's jobs, for dashboards and the task list."""
    return _response(None)
