"""The OpenAI Videos API over our jobs: a create as a job request, a job as a Video object.

Every job is a video here (whether contract 1, the task API, a script or /v1 made it), and
a /v1 video is a job on every other surface. `model` routes the render: the names in
SORA_LOCAL_VIDEO_MODELS render with our pipeline at the requested size; any other name is
passed through to the configured gateway (engine sora), or refused when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from ..errors import APIError
from ..models import VIDEO_ID_PREFIX, Job, JobStatus
from ..pipeline.sora import SIZES
from .fields import one_of
from .prompt_spec import prompt_fields
from .script_body import ScriptBody
from .spec import dimensions_of

STATUS = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "in_progress",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "failed",
}
"""The four words of the Videos API; a cancelled video is a failed one (code CANCELLED)."""
DEFAULT_MODEL, DEFAULT_SIZE, DEFAULT_SECONDS = "sora-2", SIZES[0], 4
LOCAL_SECONDS = (4, 600)
"""What the local pipeline renders: one scene with a spoken sentence up to ten minutes."""
REMIX_VISUAL_CHARS = 1000


class CreateParams(BaseModel):
    """`POST /v1/videos` fields (JSON or form); unknown ones are ignored, as gateways do."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    prompt: str = Field(min_length=1, max_length=32000)
    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=64)
    seconds: int = Field(default=DEFAULT_SECONDS, ge=1, le=LOCAL_SECONDS[1])
    size: Annotated[str, one_of(SIZES, normalise=False)] = DEFAULT_SIZE
    voice_id: str | None = Field(default=None, max_length=64)
    """An extension (extra_body): the narrator of a local render."""
    webhook_url: str | None = Field(
        default=None, max_length=2048, validation_alias=AliasChoices("webhook_url", "callback_url")
    )
    """An extension (extra_body): where the signed video.completed / video.failed goes."""

    @field_validator("seconds", mode="before")
    @classmethod
    def _whole_seconds(cls, value: Any) -> Any:
        """The API sends a string ("8"); an integer is fine too, anything else is not."""
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError('must be a whole number of seconds, e.g. "8"')


class RemixParams(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    prompt: str = Field(min_length=1, max_length=32000)


def video_id(job: Job) -> str:
    return f"{VIDEO_ID_PREFIX}{job.id}"


def job_id(video: str) -> str:
    return video.removeprefix(VIDEO_ID_PREFIX)


def route(model: str, config: Mapping[str, Any]) -> str:
    """ "local" for a local model name, "gateway" when one is configured, else a 400."""
    if model in config["LOCAL_VIDEO_MODELS"]:
        return "local"
    if "video" in config["UPSTREAMS"]:
        return "gateway"
    local = ", ".join(config["LOCAL_VIDEO_MODELS"])
    raise APIError(
        400, "MODEL_NOT_FOUND",
        f"The model {model!r} is not served here: the local models are {local}, and no "
        "gateway is configured for others (SORA_VIDEO_API_BASE_URL).",
        field="model",
    )  # fmt: skip


def create_fields(
    params: CreateParams, reference: str | None, config: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job request for a create, and the original fields its views show."""
    where = route(params.model, config)
    if where == "local" and not LOCAL_SECONDS[0] <= params.seconds <= LOCAL_SECONDS[1]:
        low, high = LOCAL_SECONDS
        raise APIError(
            400, "INVALID_SECONDS",
            f"The local model renders {low} to {high} seconds, not {params.seconds}.",
            field="seconds",
        )  # fmt: skip
    width, height = dimensions_of(params.size, None)
    fields = prompt_fields(params.prompt, params.seconds, "9:16" if height > width else "16:9")
    fields["size"] = params.size
    for name in ("voice_id", "webhook_url"):
        if getattr(params, name):
            fields[name] = getattr(params, name)
    if reference:
        fields.update(image_mode="mixed", manual_image_paths=[reference])
    if where == "gateway":
        fields.update(engine="sora", prompt=params.prompt, model=params.model)
    task = {"prompt": params.prompt, "model": params.model, "seconds": params.seconds}
    return fields, task | {"size": params.size}


def remix_fields(
    original: Job, prompt: str, manifest: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new render of a finished video with a new prompt, reusing what it can.

    An external video is remixed by its gateway. A local one keeps its script, voice, seed
    and size, so its narration (and every other unchanged piece) comes from the artefact
    store; the new prompt leads each scene's picture, so the pictures are painted anew.
    """
    if original.job_status is not JobStatus.COMPLETED:
        raise APIError(409, "VIDEO_NOT_READY", "Only a completed video can be remixed.")
    request = {k: v for k, v in original.request.items() if k not in ("task", "script_ref")}
    before = original.request.get("task", {})
    task = {
        "prompt": prompt,
        "model": before.get("model", "local"),
        "seconds": before.get("seconds") or request.get("seconds"),
        "size": before.get("size") or request.get("size"),
        "remixed_from_video_id": video_id(original),
    }
    if original.engine == "sora":
        if not original.external_video_id:
            raise APIError(409, "VIDEO_NOT_READY", "The gateway never named this video.")
        return request | {"prompt": prompt, "remix_of": original.external_video_id}, task
    script = request.get("script") or _script_of(manifest)
    if script is None:
        raise APIError(409, "VIDEO_NOT_REMIXABLE", "This video kept no script to remix.")
    for scene in script["scenes"]:
        scene["visual"] = f"{prompt.rstrip('.')}. {scene.get('visual', '')}".strip()
        scene["visual"] = scene["visual"][:REMIX_VISUAL_CHARS]
    return request | {"script": script}, task


def _script_of(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The script a local render spoke, from the scene manifest kept beside its video."""
    if not manifest or not manifest.get("scenes"):
        return None
    scenes = [
        {"narration": s["text"], "caption": (s.get("caption") or "")[:80],
         "keywords": s.get("keywords") or [], "mood": (s.get("mood") or "neutral")[:20],
         "visual": s.get("visual") or ""}
        for s in manifest["scenes"]
    ]  # fmt: skip
    body = {"title": (manifest.get("title") or "Remix")[:200], "scenes": scenes}
    if manifest.get("story_type"):
        body["story_type"] = manifest["story_type"]
    try:
        return ScriptBody.model_validate(body).model_dump(mode="json")
    except ValidationError:  # keywords the painter made that a creator could not type
        for scene in scenes:
            scene["keywords"] = []
        return ScriptBody.model_validate(body).model_dump(mode="json")


def _unix(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp())


def video_object(job: Job, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Videos API's `video` object for any job."""
    request = job.request
    task = request.get("task", {})
    status = job.job_status
    done = status is JobStatus.COMPLETED
    width, height = dimensions_of(request.get("size"), request.get("aspect_ratio"))
    seconds = task.get("seconds") or request.get("seconds")
    if not seconds:
        seconds = round(job.video_duration or float(request.get("duration", 1.0)) * 60)
    error = None
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        message = job.error_message or "The video was cancelled."
        error = {"code": job.error_code or "CANCELLED", "message": message}
    return {
        "id": video_id(job),
        "object": "video",
        "model": task.get("model") or request.get("model") or "local",
        "status": STATUS[status],
        "progress": 100 if done else int(job.progress),
        "created_at": _unix(job.created_at),
        "completed_at": _unix(job.finished_at) if done else None,
        "expires_at": _expires_at(job, config) if done else None,
        "prompt": task.get("prompt") or request.get("prompt") or request.get("topic"),
        "size": f"{width}x{height}",
        "seconds": str(seconds),
        "remixed_from_video_id": task.get("remixed_from_video_id"),
        "error": error,
    }


def _expires_at(job: Job, config: Mapping[str, Any]) -> int | None:
    """When pruning may remove the video (SORA_JOB_RETENTION_DAYS), or never (None)."""
    days = float(config["JOB_RETENTION_DAYS"])
    if days <= 0 or job.finished_at is None:
        return None
    return _unix(job.finished_at + timedelta(days=days))
