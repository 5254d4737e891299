"""Contract 2: the task API, camelCase in a {"success": true, "data": ...} envelope.

Tasks are jobs: a task made here is visible on /api/progress and the other way round.
With no external video API configured, a task renders with the local pipeline: the prompt
is the topic, `duration` is seconds, and a reference image becomes the first scene.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from flask import Blueprint, current_app, request
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ..auth import current_owner
from ..errors import APIError
from ..extensions import limiter
from ..jobs import service, uploads
from ..jobs.fields import NumberText, unknown_fields
from ..jobs.prompt_spec import prompt_fields
from ..jobs.spec import JobSpec
from ..models import TASK_STATUS, VIDEO_ID_PREFIX, Job, JobStatus
from ..ratelimits import accepted, caller, limit_from
from .common import task_view, with_webhook
from .docs import documented
from .schemas.tasks import (
    Envelope,
    Task,
    TaskContent,
    TaskDeleted,
    TaskForm,
    TaskListQuery,
    TaskPage,
    TaskStats,
)
from .uploads import allow_upload_size
from .validation import json_body, page_args, parse

bp = Blueprint("tasks", __name__, url_prefix="/api/video")

STATUS_FILTER = {name: status.value for status, name in TASK_STATUS.items()}


class TaskRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore", str_strip_whitespace=True, populate_by_name=True, strict=True
    )

    prompt: str = Field(min_length=1, max_length=32000)
    model: str = Field(default="local", min_length=1, max_length=64)
    duration: Annotated[int, NumberText] = Field(default=12, ge=4, le=600, description="seconds")
    aspect_ratio: str = Field(default="9:16", alias="aspectRatio", pattern=r"^(9:16|16:9|1:1)$")
    voice_id: str | None = Field(default=None, alias="voiceId", max_length=64)
    style: str | None = Field(default=None, max_length=32)
    webhook_url: str | None = Field(
        default=None, min_length=1, max_length=2048,
        validation_alias=AliasChoices("webhookUrl", "webhook_url", "callbackUrl", "callback_url"),
    )  # fmt: skip


def ok(data: Any, status: int = 200):
    return {"success": True, "data": data}, status


def _task_body() -> tuple[dict[str, Any], Any]:
    """JSON, or multipart form fields plus an optional reference image file."""
    if request.mimetype == "multipart/form-data":
        allow_upload_size()
        image = request.files.get("input_reference") or request.files.get("image")
        return dict(request.form), image
    return json_body(), None


def _local_spec(task: TaskRequest, reference: str | None) -> JobSpec:
    """Translate a task into the local pipeline's request (validated like contract 1)."""
    fields = prompt_fields(task.prompt, task.duration, task.aspect_ratio)
    if task.voice_id:
        fields["voice_id"] = task.voice_id
    if task.style:
        fields["image_style"] = task.style
    if task.webhook_url:
        fields["webhook_url"] = task.webhook_url
    if reference:
        fields.update(image_mode="mixed", manual_image_paths=[reference])
    if task.model != "local" and "video" in current_app.config["UPSTREAMS"]:
        # A configured external video API renders the task; its model picks the upstream model.
        fields.update(engine="sora", prompt=task.prompt, model=task.model, seconds=task.duration)
    return parse(JobSpec, fields)


@bp.post("/tasks")
@documented(
    "Create a task (JSON, or multipart with a reference image)",
    {201: Envelope[Task]},
    request=TaskRequest,
    form=TaskForm,
    errors={
        400: "VALIDATION_ERROR, UPSTREAM_NOT_CONFIGURED, WEBHOOK_URL_NOT_ALLOWED, INVALID_IMAGE",
        429: "QUEUE_FULL, RATE_LIMITED",
    },
    examples={"local": {"prompt": "A lighthouse at dusk", "duration": 6, "voiceId": "espeak_male"}},
)
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def create_task():
    body, image = _task_body()
    task = parse(TaskRequest, body)
    owner = current_owner()
    saved = uploads.save_image(image, owner, field="input_reference") if image else None
    spec = _local_spec(task, saved["path"] if saved else None)
    original = {"prompt": task.prompt, "model": task.model, "seconds": task.duration}
    job = service.submit(spec, owner, task=original)
    data = with_webhook(task_view(job), job)
    ignored = unknown_fields(TaskRequest, body) if isinstance(body, dict) else []
    ignored = [name for name in ignored if name not in ("input_reference", "image")]
    if ignored:
        data["ignoredFields"] = ignored  # accepted, but nothing reads them: a typo shows here
    return ok(data, 201)


def _job_id(video_id: str) -> str:
    return video_id.removeprefix(VIDEO_ID_PREFIX)


@contextmanager
def _in_task_words() -> Iterator[None]:
    """The service's job errors as contract 2 words them (TASK_*, field videoId)."""
    try:
        yield
    except service.JobNotFound as exc:
        raise APIError(404, "TASK_NOT_FOUND", exc.message, field="videoId") from None
    except service.JobActive:
        raise APIError(
            409, "TASK_ACTIVE", "Cancel the task before deleting it.", field="videoId"
        ) from None


def _task(video_id: str) -> Job:
    with _in_task_words():
        return service.get_for_owner(_job_id(video_id), current_owner())


@bp.get("/tasks/<video_id>")
@documented("One task", {200: Envelope[Task]}, errors={404: "TASK_NOT_FOUND"})
def get_task(video_id: str):
    job = _task(video_id)
    return ok(with_webhook(task_view(job), job))


@bp.get("/tasks")
@documented(
    "Your tasks, newest first",
    {200: Envelope[TaskPage]},
    query=TaskListQuery,
    errors={400: "VALIDATION_ERROR"},
)
def list_tasks():
    paging = page_args()
    page, limit = paging.number, paging.limit
    wanted = [s.strip().upper() for s in request.args.get("status", "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUS_FILTER]
    if unknown:
        allowed = ", ".join(STATUS_FILTER)
        raise APIError(400, "VALIDATION_ERROR", f"status must be one of: {allowed}", field="status")
    statuses = [STATUS_FILTER[s] for s in wanted] or None
    jobs, total = service.list_for_owner(current_owner(), statuses, (page - 1) * limit, limit)
    return ok(
        {
            "tasks": [with_webhook(task_view(job), job) for job in jobs],
            "page": page,
            "limit": limit,
            "total": total,
            "hasMore": page * limit < total,
        }
    )


@bp.get("/stats")
@documented("Your tasks counted by status", {200: Envelope[TaskStats]})
def task_stats():
    counts = service.counts_for_owner(current_owner())
    by_name = {TASK_STATUS[JobStatus(s)].lower(): n for s, n in counts.items()}
    stats = {name.lower(): by_name.get(name.lower(), 0) for name in STATUS_FILTER}
    return ok({"total": sum(counts.values()), **stats})


@bp.post("/tasks/<video_id>/cancel")
@documented(
    "Cancel a task",
    {200: (Envelope[Task], "Cancelled"), 202: (Envelope[Task], "Stopping")},
    errors={404: "TASK_NOT_FOUND", 409: "JOB_FINISHED"},
)
def cancel_task(video_id: str):
    with _in_task_words():
        outcome, job = service.cancel(_job_id(video_id), current_owner())
    return ok(with_webhook(task_view(job), job), 202 if outcome == "cancelling" else 200)


@bp.get("/tasks/<video_id>/content")
@documented(
    "Where to get the finished video",
    {200: Envelope[TaskContent]},
    errors={404: "TASK_NOT_FOUND", 409: "TASK_NOT_COMPLETED"},
)
def task_content(video_id: str):
    job = _task(video_id)
    if job.job_status is not JobStatus.COMPLETED:
        raise APIError(
            409,
            "TASK_NOT_COMPLETED",
            f"The task is {TASK_STATUS[job.job_status]}.",
            field="videoId",
        )
    task = task_view(job)
    return ok(
        {
            "videoId": task["videoId"],
            "externalVideoId": task["externalVideoId"],
            "url": task["videoUrl"],
            "thumbnailUrl": task["thumbnailUrl"],
            "duration": job.video_duration,
        }
    )


@bp.delete("/tasks/<video_id>")
@documented(
    "Delete a finished task and its files",
    {200: Envelope[TaskDeleted]},
    errors={404: "TASK_NOT_FOUND", 409: "TASK_ACTIVE"},
)
def delete_task(video_id: str):
    """Delete a finished task and its files; an active one must be cancelled first."""
    with _in_task_words():
        service.delete(_job_id(video_id), current_owner())
    return ok({"videoId": f"{VIDEO_ID_PREFIX}{_job_id(video_id)}", "deleted": True})
