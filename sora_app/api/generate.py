"""Contract 1: start a job and report its progress (the Vite app's polling surface)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ..auth import current_owner
from ..errors import APIError
from ..jobs import store
from ..jobs.executors import get_executor
from ..jobs.runner import notify_cancel
from ..jobs.spec import JobSpec, resolve_upload, user_uploads_dir
from ..models import Job, JobStatus
from .validation import json_body, parse

bp = Blueprint("generate", __name__, url_prefix="/api")

RETRY_AFTER_SECONDS = 30


def _check_uploads(spec: JobSpec) -> None:
    """manual_image_paths may only name files inside the uploads folder."""
    uploads = user_uploads_dir(current_app.config["UPLOADS_DIR"], current_owner())
    for index, name in enumerate(spec.manual_image_paths):
        try:
            resolve_upload(name, uploads)
        except ValueError as exc:
            field = f"manual_image_paths[{index}]"
            raise APIError(400, "VALIDATION_ERROR", f"{field}: {exc}", field=field) from None


def _check_queue_room() -> None:
    limit = int(current_app.config["JOB_QUEUE_LIMIT"])
    if store.count_by_status(JobStatus.QUEUED) >= limit:
        raise APIError(
            429,
            "QUEUE_FULL",
            f"{limit} jobs are already waiting; try again shortly.",
            details={"queue_limit": limit},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


@bp.post("/generate-video")
def generate_video():
    spec = parse(JobSpec, json_body()).with_seed()
    _check_uploads(spec)
    _check_queue_room()
    job = store.create_job(spec.model_dump(mode="json"), owner_id=current_owner())
    executor = get_executor(current_app)
    if executor is not None:
        executor.wake()
    return {"status": "generating", "job_id": job.id}, 202


def _progress_of(job: Job) -> dict:
    body = job.to_progress_dict()
    if job.job_status is JobStatus.QUEUED:
        body["substatus"] = f"Queued (position {store.queue_position(job)})"
    return body


def _job_or_404(job_id: str) -> Job:
    """Another user's job is as invisible as one that doesn't exist."""
    job = store.get_job(job_id) if len(job_id) <= 64 else None
    if job is None or job.owner_id != current_owner():
        raise APIError(404, "JOB_NOT_FOUND", f"No job with id {job_id[:64]!r}.", field="job_id")
    return job


@bp.get("/progress")
def get_progress():
    job_id = request.args.get("job_id")
    if job_id:
        return _progress_of(_job_or_404(job_id))
    job = store.latest_job(current_owner())
    if job is None:
        return {"status": "idle", "progress": 0}
    return _progress_of(job)


@bp.get("/progress/<job_id>")
def get_job_progress(job_id: str):
    return _progress_of(_job_or_404(job_id))


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str):
    """Queued jobs end at once; running ones stop within a second or two (202 until then)."""
    job = _job_or_404(job_id)
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
    return _progress_of(_job_or_404(job_id)), 202 if outcome == "cancelling" else 200
