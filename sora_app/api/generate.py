"""Contract 1: start a job and report its progress (the Vite app's polling surface)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ..auth import current_owner
from ..errors import APIError
from ..extensions import limiter
from ..jobs import store
from ..jobs.spec import JobSpec, resolve_upload, user_uploads_dir
from ..models import Job, JobStatus
from ..ratelimits import accepted, caller, limit_from
from .common import cancel_owned_job, check_upstreams, owned_job, progress_view, submit_job
from .validation import json_body, parse

bp = Blueprint("generate", __name__, url_prefix="/api")


def _check_uploads(spec: JobSpec) -> None:
    """manual_image_paths may only name files inside the uploads folder."""
    uploads = user_uploads_dir(current_app.config["UPLOADS_DIR"], current_owner())
    for index, name in enumerate(spec.manual_image_paths):
        try:
            resolve_upload(name, uploads)
        except ValueError as exc:
            field = f"manual_image_paths[{index}]"
            raise APIError(400, "VALIDATION_ERROR", f"{field}: {exc}", field=field) from None


@bp.post("/generate-video")
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def generate_video():
    spec = parse(JobSpec, json_body()).with_seed()
    _check_uploads(spec)
    check_upstreams(spec)
    job = submit_job(spec.model_dump(mode="json"))
    return {"status": "generating", "job_id": job.id}, 202


def _progress_of(job: Job) -> dict:
    body = progress_view(job)
    if job.job_status is JobStatus.QUEUED:
        body["substatus"] = f"Queued (position {store.queue_position(job)})"
    return body


@bp.get("/progress")
def get_progress():
    job_id = request.args.get("job_id")
    if job_id:
        return _progress_of(owned_job(job_id))
    job = store.latest_job(current_owner())
    if job is None:
        return {"status": "idle", "progress": 0}
    return _progress_of(job)


@bp.get("/progress/<job_id>")
def get_job_progress(job_id: str):
    return _progress_of(owned_job(job_id))


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str):
    """Queued jobs end at once; running ones stop within a second or two (202 until then)."""
    outcome = cancel_owned_job(owned_job(job_id))
    return _progress_of(owned_job(job_id)), 202 if outcome == "cancelling" else 200
