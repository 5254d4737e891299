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
from .docs import documented
from .schemas.jobs import GenerateAccepted, Progress, ProgressQuery
from .validation import json_body, parse

bp = Blueprint("generate", __name__, url_prefix="/api")


@bp.post("/generate-video")
@documented(
    "Start a video job (answers at once)",
    {202: GenerateAccepted},
    request=JobSpec,
    errors={
        400: "VALIDATION_ERROR, UPSTREAM_NOT_CONFIGURED, WEBHOOK_URL_NOT_ALLOWED",
        429: "QUEUE_FULL, RATE_LIMITED",
    },
    examples={
        "lighthouse": {
            "topic": "The Vanishing Lighthouse",
            "story_type": "scary_horror",
            "voice_id": "male_narrator_deep",
            "duration": 0.5,
            "num_scenes": 4,
        }
    },
)
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
@documented(
    "The latest job's progress, or ?job_id=",
    {200: Progress},
    query=ProgressQuery,
    errors={404: "JOB_NOT_FOUND"},
)
def get_progress():
    job_id = request.args.get("job_id")
    if job_id:
        return _progress_of(service.get_for_owner(job_id, current_owner()))
    job = service.latest_for_owner(current_owner())
    if job is None:
        return {"status": "idle", "progress": 0}
    return _progress_of(job)


@bp.get("/progress/<job_id>")
@documented("One job's progress", {200: Progress}, errors={404: "JOB_NOT_FOUND"})
def get_job_progress(job_id: str):
    return _progress_of(service.get_for_owner(job_id, current_owner()))


@bp.post("/jobs/<job_id>/cancel")
@documented(
    "Cancel a job",
    {200: (Progress, "Cancelled"), 202: (Progress, "Stopping")},
    errors={404: "JOB_NOT_FOUND", 409: "JOB_FINISHED"},
)
def cancel_job(job_id: str):
    """Queued jobs end at once; running ones stop within a second or two (202 until then)."""
    outcome, job = service.cancel(job_id, current_owner())
    return _progress_of(job), 202 if outcome == "cancelling" else 200
