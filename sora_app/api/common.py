"""What several blueprints share: submitting a job and finding the caller's own jobs."""

from __future__ import annotations

from typing import Any

from flask import current_app

from .. import space
from ..auth import current_owner
from ..errors import APIError, storage_full
from ..jobs import eta, store
from ..jobs.executors import get_executor
from ..jobs.runner import notify_cancel
from ..jobs.spec import JobSpec
from ..models import Job, JobStatus, to_task_dict
from ..pipeline.voices import get_voice

RETRY_AFTER_SECONDS = 30


def require_room() -> None:
    """Refuse new work (507) while a media folder is below the threshold /health warns at.

    A job accepted now would only fail later for want of room, and an upload would fill
    the disk the running jobs need.
    """
    low = space.low_media_folders(current_app.config)
    if low:
        raise storage_full(low, int(current_app.config["HEALTH_MIN_FREE_MB"]))


def submit_job(request: dict[str, Any]) -> Job:
    """Commit the job (the 2xx promise) if the queue and the disks have room, then wake a worker."""
    require_room()
    limit = int(current_app.config["JOB_QUEUE_LIMIT"])
    if store.count_by_status(JobStatus.QUEUED) >= limit:
        raise APIError(
            429,
            "QUEUE_FULL",
            f"{limit} jobs are already waiting; try again shortly.",
            details={"queue_limit": limit},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    job = store.create_job(request, owner_id=current_owner())
    executor = get_executor(current_app)
    if executor is not None:
        executor.wake()
    return job


def owned_job(job_id: str, *, field: str = "job_id", code: str = "JOB_NOT_FOUND") -> Job:
    """The caller's job; another user's job is as invisible as one that doesn't exist."""
    job = store.get_job(job_id) if 0 < len(job_id) <= 64 else None
    if job is None or job.owner_id != current_owner():
        raise APIError(404, code, f"No job with id {job_id[:64]!r}.", field=field)
    return job


def progress_view(job: Job) -> dict[str, Any]:
    """Contract 1's progress view plus `eta_seconds` (the bar alone is a poor clock)."""
    return {**job.to_progress_dict(), "eta_seconds": eta.estimate(job, current_app.config)}


def task_view(job: Job) -> dict[str, Any]:
    """Contract 2's camelCase task view plus `etaSeconds`."""
    return {**to_task_dict(job), "etaSeconds": eta.estimate(job, current_app.config)}


def cancel_owned_job(job: Job) -> str:
    """Cancel the caller's job: "cancelled" (was queued) or "cancelling"; 409 when finished."""
    outcome = store.request_cancel(job.id)
    if outcome == "finished":
        raise APIError(
            409,
            "JOB_FINISHED",
            f"The job is already {job.status}; there is nothing to cancel.",
            field="job_id",
        )
    if outcome == "cancelling":
        notify_cancel(job.id)
    return outcome


NEEDS = (
    ("engine", "sora", "video", "SORA_VIDEO_API_BASE_URL"),
    ("script_source", "remote", "llm", "SORA_LLM_BASE_URL"),
)


def check_upstreams(spec: JobSpec) -> None:
    """Refuse at once (400) what a configured-off upstream could only fail later."""
    configured = current_app.config["UPSTREAMS"]
    for field, value, upstream, setting in NEEDS:
        if getattr(spec, field) == value and upstream not in configured:
            raise APIError(
                400, "UPSTREAM_NOT_CONFIGURED",
                f"{field} {value} needs an upstream service: the server has no {setting}.",
                field=field,
            )  # fmt: skip
    if get_voice(spec.voice_id).engine == "remote" and "tts" not in configured:
        raise APIError(
            400, "UPSTREAM_NOT_CONFIGURED",
            f"voice {spec.voice_id} needs a speech API: the server has no SORA_TTS_BASE_URL.",
            field="voice_id",
        )  # fmt: skip
