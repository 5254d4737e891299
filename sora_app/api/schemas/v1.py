"""/v1's answers: OpenAI's Video object, its list page and the deletion receipt."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from .base import Answer, Query


class VideoError(Answer):
    code: str
    message: str


class Video(Answer):
    """OpenAI's `video` object (the same job as on every other surface)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "id": "video_3f2c1a2b9d0e4f5a8b7c6d5e4f3a2b1c", "object": "video", "model": "sora-2",
            "status": "in_progress", "progress": 37, "created_at": 1767225600,
            "completed_at": None, "expires_at": None, "prompt": "A paper boat in the rain",
            "size": "720x1280", "seconds": "8", "remixed_from_video_id": None, "error": None}]},
    )  # fmt: skip

    id: str
    object: Literal["video"]
    model: str
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int = Field(ge=0, le=100)
    created_at: int | None
    completed_at: int | None
    expires_at: int | None
    prompt: str | None
    size: str
    seconds: str
    remixed_from_video_id: str | None
    error: VideoError | None


class VideoList(Answer):
    object: Literal["list"]
    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(Answer):
    id: str
    object: Literal["video.deleted"]
    deleted: Literal[True]


class ListQuery(Query):
    after: str | None = Field(default=None, description="List after this video id")
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"


class ContentQuery(Query):
    variant: Literal["video", "thumbnail", "spritesheet"] = "video"


class CreateForm(Query):
    """The SDK's multipart create: the JSON fields as parts plus the image file."""

    prompt: str = Field(min_length=1, max_length=32000)
    model: str | None = None
    seconds: str | None = Field(default=None, examples=["8"])
    size: Literal["720x1280", "1280x720", "1024x1792", "1792x1024"] | None = None
    input_reference: bytes | None = Field(default=None, description="A JPEG, PNG or WebP image")


class ImageRef(Query):
    """One of: a picture of your media library, or an image URL (https or data:)."""

    file_id: str | None = Field(default=None, description="A media id from /api/media")
    image_url: str | None = Field(default=None, description="https://… or data:image/…;base64,…")
