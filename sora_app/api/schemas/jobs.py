"""Contract 1's answers: a started job, its progress, health, voices, options, uploads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from .base import Answer, Query

EXAMPLE_ID = "3f2c1a2b9d0e4f5a8b7c6d5e4f3a2b1c"
JOB_ID = Field(description="The job's id (32 hex digits).", examples=[EXAMPLE_ID])


class GenerateAccepted(Answer):
    """The job is committed and queued; follow it on /api/progress."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "generating", "job_id": EXAMPLE_ID}]},
    )  # fmt: skip

    status: Literal["generating"]
    job_id: str = JOB_ID
    ignored_fields: list[str] | None = Field(
        default=None, description="Fields sent that no option reads (only when there are any)"
    )


class WebhookDelivery(Answer):
    url: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: str | None
    delivered_at: str | None


class ExternalDelete(Answer):
    """An upstream DELETE still being retried after a cancel."""

    video_id: str
    status: Literal["pending", "done", "failed"]
    attempts: int
    last_error: str | None
    next_attempt_at: float | None


class Progress(Answer):
    """A job as contract 1 shows it; fields beyond status and progress depend on the state."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "generating", "progress": 45, "substatus": "Creating scene 5 of 10",
                 "details": "Processing images...", "job_id": "3f2c1a2b9d0e4f5a8b7c6d5e4f3a2b1c",
                 "state": "running", "stage": "images", "attempts": 1,
                 "created_at": "2026-11-04T12:34:56+00:00", "eta_seconds": 120},
                {"status": "complete", "progress": 100, "video_path": "video_20261104_123456.mp4",
                 "substatus": "Video ready for download"},
                {"status": "idle", "progress": 0},
            ]
        },
    )  # fmt: skip

    status: Literal["idle", "generating", "complete", "error", "cancelled"]
    progress: int = Field(ge=0, le=100, description="0-25 script, 25-50 images, 50-75 "
                          "narration, 75-100 compilation; never goes backwards")  # fmt: skip
    substatus: str | None = None
    details: str | None = None
    job_id: str | None = None
    state: Literal["queued", "running", "completed", "failed", "cancelled"] | None = None
    stage: str | None = None
    attempts: int | None = None
    created_at: str | None = None
    eta_seconds: int | None = Field(default=None, description="Seconds until done; null if unknown")
    video_path: str | None = Field(default=None, description="The <filename> of /api/video/")
    video_url: str | None = None
    thumbnail_url: str | None = None
    duration: float | None = Field(default=None, description="The video's seconds")
    error: str | None = None
    error_code: str | None = None
    external_delete: ExternalDelete | None = None
    webhook: WebhookDelivery | None = None


class ProgressQuery(Query):
    job_id: str | None = Field(default=None, description="A job id; absent: the latest job")


class Check(Answer):
    """One dependency's state; more fields name what was checked."""

    model_config = ConfigDict(extra="allow")

    ok: bool
    message: str | None = None


class Health(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0", "checks": {
            "database": {"ok": True}, "ffmpeg": {"ok": True, "path": "ffmpeg"}}}]},
    )  # fmt: skip

    status: Literal["ok", "degraded", "error"]
    version: str
    checks: dict[str, Check] = Field(
        description="database, ffmpeg, then disk, queue, workers and upstreams (if any)"
    )


class Voice(Answer):
    id: str
    name: str
    engine: str
    language: str
    gender: str | None
    style: str | None
    default: bool
    available: bool = Field(description="Whether this server can speak with it now")
    unavailable_reason: str | None = Field(default=None, description="Why not, when it cannot")


class Voices(Answer):
    voices: list[Voice]
    default: str


class Range(Answer):
    min: float
    max: float


class Options(Answer):
    """Every value a request may choose (the same lists the request models enforce)."""

    model_config = ConfigDict(extra="forbid")

    story_type: list[str]
    image_style: list[str]
    image_mode: list[str]
    hook_intensity: list[str]
    pacing: list[str]
    platform: list[str]
    aspect_ratio: list[str]
    voice_id: list[str]
    duration_minutes: Range
    num_scenes: Range
    music_mood: list[str]
    music_mood_by_story_type: dict[str, str]
    music_volume: dict[str, Any]
    word_captions: dict[str, Any]
    defaults: dict[str, Any] = Field(description="What each omitted field of the request becomes")


class StoredImage(Answer):
    """An uploaded picture, normalised and renamed by the server."""

    id: str
    path: str = Field(description="The name manual_image_paths takes")
    width: int
    height: int
    bytes: int
    mime: Literal["image/jpeg", "image/png"]


class UploadedFile(Answer):
    path: str
    bytes: int


class Uploads(Answer):
    uploads: list[UploadedFile]


class FileForm(Query):
    """multipart/form-data with one file part."""

    file: bytes = Field(json_schema_extra={"format": "binary"}, description="The file")


class RangeHeaders(Query):
    range: str | None = Field(default=None, alias="Range", description="e.g. bytes=0-1023")
