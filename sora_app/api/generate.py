"""Contract 1: start a job and report its progress (the Vite app's polling surface)."""

from __future__ import annotations

from flask import Blueprint, request

from ..auth import current_owner
from ..extensions import limiter
from ..jobs import service
from ..jobs.fields import unknown_fields
from ..jobs.spec import JobSpec
from ..models import Job
from ..ratelimits import accepted, caller, limit_from
from .common import progress_view, with_webhook
from .validation import json_body, parse

bp = Blueprint("generate", __name__, url_prefix="/api")


@bp.post("/generate-video")
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def generate_video():
    """Unknown fields are accepted (the Vite app sends some) and listed in `ignored_fields`,
    so a misspelt option shows in the answer instead of silently doing nothing."""
    body = json_body()
    job = service.submit(parse(JobSpec, body), current_owner())
    answer: dict = {"status": "generating", "job_id": job.id}
    ignored = unknown_fields(JobSpec, body)
    if ignored:
        answer["ignored_fields"] = ignored
    return answer, 202


def _progress_of(job: Job) -> dict:
    body = with_webhook(progress_view(job), job)
    position = service.queue_position(job)
    if position is not None:
        body["substatus"] = f"Queued (position {position})"
    return body


@bp.get("/progress")
def get_progress():
    job_id = request.args.get("job_id")
    if job_id:
        return _progress_of(service.get_for_owner(job_id, current_owner()))
    job = service.latest_for_owner(current_owner())
    if job is None:
        return {"status": "idle", "progress": 0}
    return _progress_of(job)


@bp.get("/progress/<job_id>")
def get_job_progress(job_id: str):
    return _progress_of(service.get_for_owner(job_id, current_owner()))


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str):
    """Queued jobs end at once; running ones stop within a second or two (202 until then)."""
    outcome, job = service.cancel(job_id, current_owner())
    return _progress_of(job), 202 if outcome == "cancelling" else 200
