"""Contract 2's answers: camelCase tasks in a {"success": true, "data": ...} envelope."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import ConfigDict, Field

from .base import Answer, JobError, Query
from .jobs import WebhookDelivery

T = TypeVar("T")


class Envelope(Answer, Generic[T]):
    success: Literal[True]
    data: T


class TaskExternalDelete(Answer):
    videoId: str
    status: Literal["pending", "done", "failed"]
    attempts: int
    lastError: str | None
    nextAttemptAt: float | None


class Task(Answer):
    """One task (a job): `videoId` addresses it everywhere, `externalVideoId` is the upstream's."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "videoId": "video_3f2c1a2b9d0e4f5a8b7c6d5e4f3a2b1c", "externalVideoId": None,
            "jobId": "3f2c1a2b9d0e4f5a8b7c6d5e4f3a2b1c", "status": "PROCESSING", "progress": 37,
            "message": "Creating scene 2 of 4", "prompt": "A lighthouse at dusk",
            "model": "local", "duration": 6, "createdAt": "2026-11-04T12:34:56+00:00",
            "updatedAt": "2026-11-04T12:35:10+00:00", "completedAt": None, "etaSeconds": 40}]},
    )  # fmt: skip

    videoId: str
    externalVideoId: str | None
    jobId: str
    status: Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"]
    progress: int = Field(ge=0, le=100)
    message: str | None
    prompt: str | None
    model: str
    duration: int | None = Field(description="Seconds asked for")
    createdAt: str | None
    updatedAt: str | None
    completedAt: str | None
    etaSeconds: int | None
    videoUrl: str | None = None
    thumbnailUrl: str | None = None
    videoDuration: float | None = None
    error: JobError | None = None
    externalDelete: TaskExternalDelete | None = None
    webhook: WebhookDelivery | None = None
    ignoredFields: list[str] | None = Field(
        default=None, description="Fields sent that nothing reads (on create, when any)"
    )


class TaskPage(Answer):
    tasks: list[Task]
    page: int
    limit: int
    total: int
    hasMore: bool


class TaskStats(Answer):
    total: int
    queued: int
    processing: int
    completed: int
    failed: int
    cancelled: int


class TaskContent(Answer):
    videoId: str
    externalVideoId: str | None
    url: str = Field(description="Our own /api/video/<file> URL (Range works)")
    thumbnailUrl: str | None
    duration: float | None


class TaskDeleted(Answer):
    videoId: str
    deleted: Literal[True]


class TaskForm(Query):
    """The multipart form of POST /api/video/tasks: the JSON fields plus a reference image."""

    prompt: str = Field(min_length=1, max_length=32000)
    model: str | None = None
    duration: int | None = Field(default=None, description="seconds, 4-600")
    aspectRatio: Literal["9:16", "16:9", "1:1"] | None = None
    voiceId: str | None = None
    style: str | None = None
    input_reference: bytes | None = Field(default=None, description="A JPEG, PNG or WebP image")


class TaskListQuery(Query):
    page: int = Field(default=1, ge=1, le=100_000)
    limit: int = Field(default=20, ge=1, le=100)
    status: str | None = Field(
        default=None, description="Comma-separated: QUEUED, PROCESSING, COMPLETED, FAILED, "
        "CANCELLED", examples=["COMPLETED,FAILED"],
    )  # fmt: skip
