"""The creator studio's answers: the video library, scenes, media, stock, scripts, batches."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Answer, JobError, Query


class Paging(Query):
    page: int = Field(default=1, ge=1, le=100_000)
    limit: int = Field(default=20, ge=1, le=100)


class PageFields(Answer):
    total: int
    page: int
    limit: int
    has_more: bool


class ScriptVersionRef(Answer):
    id: str
    version: int


class LibraryVideo(Answer):
    """One library entry: enough for a card (title, state, length, thumbnail)."""

    id: str
    video_id: str = Field(description="The task API's and /v1's name for it: video_<id>")
    title: str
    topic: str | None
    status: Literal["processing", "completed", "failed", "cancelled"]
    state: Literal["queued", "running", "completed", "failed", "cancelled"]
    progress: int
    duration: float | None
    video_url: str | None
    thumbnail_url: str | None
    scenes_url: str | None
    script: ScriptVersionRef | None
    engine: str
    created_at: str | None
    completed_at: str | None
    error: JobError | None = None


class VideoPage(PageFields):
    videos: list[LibraryVideo]


class VideoListQuery(Paging):
    status: Literal["all", "processing", "completed", "failed", "cancelled"] = "all"


class LibraryVideoDeleted(Answer):
    id: str
    deleted: Literal[True]


class SceneView(Answer):
    index: int
    text: str
    caption: str
    keywords: list[str]
    mood: str
    visual: str
    start: float
    end: float
    image_url: str
    source: str = Field(description="upload, stock, ai or painter")


class VideoScenes(Answer):
    id: str
    title: str | None
    duration: float | None
    script: ScriptVersionRef | None
    scenes: list[SceneView]


class MediaItem(Answer):
    id: str
    kind: Literal["image", "audio"]
    name: str
    mime: str
    bytes: int
    width: int | None
    height: int | None
    duration: float | None
    source: str | None
    original_name: str | None
    url: str
    created_at: str | None


class MediaPage(PageFields):
    media: list[MediaItem]


class MediaListQuery(Paging):
    kind: Literal["image", "audio"] | None = None


class StockResult(Answer):
    id: str = Field(description="Signed by the server: POST it back to import the picture")
    preview_url: str
    width: int
    height: int


class StockPage(Answer):
    results: list[StockResult]
    page: int
    per_page: int
    source: str = Field(description="offline, or the stock service's name")


class StockQuery(Query):
    q: str = Field(default="", max_length=200, description="Search words")
    orientation: Literal["portrait", "landscape", "square"] = "portrait"
    page: int = Field(default=1, ge=1, le=10)


class StockImport(Query):
    id: str = Field(min_length=1, description="A search result's id")


class ScriptScene(Answer):
    index: int
    narration: str
    caption: str
    keywords: list[str]
    mood: str
    characters: list[str]
    media: str | None
    visual: str
    image_variant: int
    duration: float | None


class ScriptSummary(Answer):
    id: str
    title: str
    version: int
    created_at: str | None
    updated_at: str | None


class ScriptView(ScriptSummary):
    story_type: str
    latest_version: int
    scenes: list[ScriptScene]


class ScriptPage(PageFields):
    scripts: list[ScriptSummary]


class ScriptVersionQuery(Query):
    version: int | None = Field(default=None, ge=0, le=1_000_000, description="0: the newest")


class RenderAccepted(Answer):
    status: Literal["generating"]
    job_id: str
    script_id: str


class BatchItem(Answer):
    position: int
    label: str
    status: str = Field(
        description="pending, queued, running, completed, failed, cancelled, deleted"
    )
    job_id: str | None
    error: JobError | None = None


class Batch(Answer):
    batch_id: str
    status: Literal["processing", "cancelling", "completed", "failed", "cancelled"]
    total_videos: int
    completed_videos: int
    failed_videos: int
    cancelled_videos: int
    deleted_videos: int
    pending_videos: int
    video_ids: list[str]
    items: list[BatchItem]
    created_at: str
