"""The only door to jobs: every surface (HTTP, SSE, WebSocket, CLI) submits, reads, cancels
and deletes jobs here, so the rules (room, queue limit, ownership, cancel and delete
outcomes) are written once and the blueprints only parse and shape.

Functions take the owner's id, not the request, so the CLI and the streams use them too.
Another user's job is reported exactly like a missing one (404, never 403). Errors are
APIError subclasses; a surface with its own words maps them once (tasks: TASK_NOT_FOUND).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

from ..errors import APIError
from ..extensions import db
from ..models import FINAL_STATUSES, Job, JobStatus, new_job_id
from ..safe_paths import safe_file
from ..storage import storage_for
from . import (
    admission,
    events,
    queries,
    read_cache,
    scenes,
    store,
    webhook_dispatch,
    webhook_outbox,
    webhook_settings,
)  # fmt: skip
from .executors import get_executor
from .runner import notify_cancel
from .spec import JobSpec

RETRY_AFTER_SECONDS = 30
MAX_JOB_ID = 64


class JobNotFound(APIError):
    """No such job for this owner (another user's job included)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(404, "JOB_NOT_FOUND", f"No job with id {job_id[:64]!r}.", field="job_id")


class JobFinished(APIError):
    """Cancel of a job that already ended."""

    def __init__(self, status: str) -> None:
        message = f"The job is already {status}; there is nothing to cancel."
        super().__init__(409, "JOB_FINISHED", message, field="job_id")


class JobActive(APIError):
    """Delete of a job still queued or running: it must be cancelled first."""

    def __init__(self) -> None:
        super().__init__(409, "JOB_ACTIVE", "Cancel the job before deleting it.", field="job_id")


class VideoNotReady(APIError):
    """A finished video's view asked of a job that has none (yet)."""

    def __init__(self, status: str) -> None:
        message = f"The job is {status}; its video and scenes exist once it completes."
        super().__init__(409, "VIDEO_NOT_READY", message, field="video_id")


class QueueFull(APIError):
    """JOB_QUEUE_LIMIT jobs already wait; the client should retry shortly."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            429, "QUEUE_FULL", f"{limit} jobs are already waiting; try again shortly.",
            details={"queue_limit": limit}, headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )  # fmt: skip


def submit(
    spec: JobSpec,
    owner_id: str,
    *,
    task: dict[str, Any] | None = None,
    dispatch: bool = True,
    job_id: str | None = None,
) -> Job:
    """Check, then commit the job (the 2xx promise) and hand its id to the executor.

    Admission is one atomic step (store.admit_job): concurrent submits never overshoot
    JOB_QUEUE_LIMIT. `task` is contract 2's original request, kept with the job for its
    views. `dispatch=False` is for the CLI, which runs the job in its own process. `job_id`
    is for a batch, which names its item's job before submitting it.
    """
    admission.check(spec, owner_id)
    request = spec.with_seed().model_dump(mode="json")
    if task is not None:
        request["task"] = task
    limit = int(current_app.config["JOB_QUEUE_LIMIT"])
    job_id = job_id or new_job_id()
    request["webhook_url"] = webhook_settings.target_for(spec.webhook_url, owner_id)
    if request["webhook_url"]:  # its outbox row first: no accepted job can miss its event
        webhook_outbox.prepare(job_id, owner_id, request["webhook_url"])
    job = store.admit_job(request, limit, owner_id=owner_id, job_id=job_id)
    if job is None:
        if request["webhook_url"]:
            webhook_outbox.discard(job_id)
        raise QueueFull(limit)
    executor = get_executor(current_app) if dispatch else None
    if executor is not None:
        executor.submit(job.id)
    return job


def retry(job_id: str, owner_id: str) -> Job:
    """A failed or cancelled job's request again, as a new job of the same owner.

    It goes through submit (room, queue limit, a webhook's check) with the same seed, so it
    tells the same story; the old job stays as it was. 409 JOB_NOT_RETRYABLE otherwise.
    """
    job = get_for_owner(job_id, owner_id)
    if job.job_status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        message = f"The job is {job.status}; only a failed or cancelled job can be retried."
        raise APIError(409, "JOB_NOT_RETRYABLE", message, field="job_id")
    request = job.request
    task = request.pop("task", None)
    return submit(JobSpec.model_validate(request), owner_id, task=task)


def current_view(job_id: str, owner_id: str) -> Job | None:
    """The job as it is now (a fresh read), or None if it is gone or not the owner's.

    The one read the polled views and live streams need: one indexed check of the row's
    version, the row itself from this process's cache when it has not changed (read_cache).
    The job is detached and shared with other threads: read it, never change it.
    """
    return read_cache.job_for_owner(job_id, owner_id) if 0 < len(job_id) <= MAX_JOB_ID else None


def get_for_owner(job_id: str, owner_id: str) -> Job:
    """The owner's job; JobNotFound for a missing id and for another user's job alike."""
    job = current_view(job_id, owner_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def latest_for_owner(owner_id: str) -> Job | None:
    """The owner's newest job as it is now (what /api/progress without an id polls)."""
    return read_cache.latest_for_owner(owner_id)


def queue_position(job: Job) -> int | None:
    """1-based place among all queued jobs (oldest first); None when the job isn't queued."""
    return store.queue_position(job) if job.job_status is JobStatus.QUEUED else None


def list_for_owner(
    owner_id: str, statuses: list[str] | None, offset: int, limit: int
) -> tuple[list[Job], int]:
    """One page of the owner's jobs, newest first, and how many match in all."""
    return store.list_jobs(owner_id, statuses, offset, limit)


def counts_for_owner(owner_id: str) -> dict[str, int]:
    """How many of the owner's jobs are in each status (only statuses that occur)."""
    return store.counts_by_status(owner_id)


def status_counts() -> dict[str, int]:
    """Jobs of every user by status, every status present (0 when none), for /metrics."""
    found = store.status_counts()
    return {status.value: found.get(status.value, 0) for status in JobStatus}


def queue_counts() -> dict[str, int]:
    """Jobs waiting and running in the whole system, for /health."""
    return {
        "queued": store.count_by_status(JobStatus.QUEUED),
        "running": store.count_by_status(JobStatus.RUNNING),
    }


def check_database_writable() -> None:
    """Raises what the database raises when it can't take a write right now (for /health)."""
    store.probe_writable()


def cancel(job_id: str, owner_id: str) -> tuple[str, Job]:
    """Cancel the owner's job; returns the outcome and the job as it is now.

    "cancelled": it was queued and ended at once. "cancelling": it runs, and stops at its
    runner's next check (at once if it runs in this process). JobFinished (409) if it ended.
    """
    job = get_for_owner(job_id, owner_id)
    outcome = store.request_cancel(job.id)
    if outcome == "finished":
        raise JobFinished(job.status)
    if outcome == "cancelling":
        notify_cancel(job.id)
    elif job.request.get("webhook_url"):  # ended here, with no runner to send its event
        webhook_dispatch.kick(current_app._get_current_object())  # type: ignore[attr-defined]
    return outcome, get_for_owner(job_id, owner_id)


def delete(job_id: str, owner_id: str) -> None:
    """Remove a finished job's video, thumbnail and row; JobActive (409) while it may run.

    Files go first: a row without files is a failed download, files without a row are
    leaked disk nobody can name any more.
    """
    job = get_for_owner(job_id, owner_id)
    if job.job_status not in FINAL_STATUSES:
        raise JobActive()
    storage = storage_for(current_app.config)
    if job.video_path:
        for path in scenes.published_files(storage.videos_dir, job.video_path):
            storage.remove_media(path.name)
    for name in (job.video_path, job.thumbnail_path):
        if name:
            storage.remove_media(name)
    if job.request.get("webhook_url"):
        webhook_outbox.freeze_for(job)  # its event still goes out without the row
    store.delete_job(job.id)


def scenes_of(job_id: str, owner_id: str) -> tuple[Job, dict[str, Any] | None]:
    """The owner's finished video and its scene manifest (None: it kept none, e.g. external).

    VideoNotReady (409) while the job has no video yet.
    """
    job = get_for_owner(job_id, owner_id)
    if job.job_status is not JobStatus.COMPLETED or not job.video_path:
        raise VideoNotReady(job.status)
    return job, scenes.read(storage_for(current_app.config).videos_dir, job.video_path)


def media_file(filename: str, owner_id: str) -> Path | None:
    """The finished video, thumbnail or scene still of one of the owner's jobs (a plain file)."""
    owned = scenes.video_of_still(filename) or filename  # a still is its video's
    if not queries.owns_media(owned, owner_id):  # every Range request asks: no ORM row
        return None
    return safe_file(storage_for(current_app.config).videos_dir, filename)


# The feed: what the live streams (SSE, WebSocket) read. They wait on jobs/events.py and read
# the row (the truth) when it announces a version; no stream keeps a DB connection meanwhile.


def event_version(job: Job) -> int:
    """The job's event id and resume point: its `version`, bumped by every real change."""
    return int(job.version)


def live_job(job_id: str) -> Job | None:
    """The job's newest state, read once per version for every stream of this process.

    Detached from the session (streams of other threads share it); the session is released
    before this returns, so the caller may wait without holding a connection.
    """

    def load() -> Job | None:
        try:
            job = store.get_job(job_id) if 0 < len(job_id) <= MAX_JOB_ID else None
            if job is not None:
                db.session.expunge(job)
            return job
        finally:
            release_connection()

    return events.hub().snapshot(job_id, load)


def release_connection() -> None:
    """End the session's transaction, handing its connection back to the pool.

    The rows read so far are detached first, with what they loaded: a stream reads its jobs,
    lets the connection go, then sends them. A rollback would have expired them and the
    close detached them, so the first attribute read raised DetachedInstanceError (an
    `/api/events` stream opened while a job was active died before its first event).
    """
    db.session.expunge_all()
    db.session.rollback()
    db.session.close()


def feed(owner_id: str, since_ms: int, job_id: str | None = None) -> list[Job]:
    """The owner's jobs (or that one job) changed at or after `since_ms`, oldest first."""
    return queries.changed_since(owner_id, since_ms, job_id)


def active_for_owner(owner_id: str) -> list[Job]:
    """What a fresh dashboard shows first: the owner's queued and running jobs."""
    return queries.active_jobs(owner_id)


def followed(owner_id: str, job_ids: set[str]) -> dict[str, Job]:
    """The current view of each followed job still there and the owner's, by id."""
    return {job.id: job for job in queries.owned_jobs(owner_id, job_ids)}
