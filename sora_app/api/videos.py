"""The caller's video library: list, look at, take apart into scenes, and delete videos.

A video is a job seen from the creator studio's side: the same row as on /api/progress
and the task API, addressed by job id (or the task API's `video_<id>`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from ..auth import current_owner
from ..errors import APIError
from ..jobs import scenes, service
from ..models import VIDEO_ID_PREFIX, Job, JobStatus, iso_utc
from ..storage import storage_for
from .docs import documented
from .schemas.library import (
    LibraryVideo,
    LibraryVideoDeleted,
    VideoListQuery,
    VideoPage,
    VideoScenes,
)
from .validation import page_args

bp = Blueprint("videos", __name__, url_prefix="/api/videos")

LIBRARY_STATUS = {
    JobStatus.QUEUED: "processing",
    JobStatus.RUNNING: "processing",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "cancelled",
}
"""The library's words: a creator does not care whether a render waits or runs."""
STATUS_FILTER: dict[str, list[str] | None] = {
    "all": None,
    **{
        word: [s.value for s, w in LIBRARY_STATUS.items() if w == word]
        for word in dict.fromkeys(LIBRARY_STATUS.values())
    },
}


def _job_id(video_id: str) -> str:
    return video_id.removeprefix(VIDEO_ID_PREFIX)


def _title(job: Job, request_body: dict[str, Any]) -> str:
    """The written script's title once there is one, else what was asked for."""
    if job.job_status is JobStatus.COMPLETED and job.video_path:
        manifest = scenes.read(storage_for(current_app.config).videos_dir, job.video_path)
        if manifest:
            return str(manifest["title"])
    script = request_body.get("script") or {}
    task = request_body.get("task") or {}
    return str(script.get("title") or task.get("prompt") or request_body.get("topic", ""))


def video_view(job: Job) -> dict[str, Any]:
    """One library entry: enough for a grid of cards (title, state, length, thumbnail)."""
    body = job.request
    status = job.job_status
    done = status is JobStatus.COMPLETED
    view: dict[str, Any] = {
        "id": job.id,
        "video_id": f"{VIDEO_ID_PREFIX}{job.id}",
        "title": _title(job, body),
        "topic": body.get("topic"),
        "status": LIBRARY_STATUS[status],
        "state": status.value,
        "progress": int(job.progress),
        "duration": job.video_duration if done else None,
        "video_url": f"/api/video/{job.video_path}" if done else None,
        "thumbnail_url": f"/api/video/{job.thumbnail_path}" if job.thumbnail_path else None,
        "scenes_url": f"/api/videos/{job.id}/scenes" if done else None,
        "script": body.get("script_ref"),
        "engine": job.engine,
        "created_at": iso_utc(job.created_at),
        "completed_at": iso_utc(job.finished_at) if done else None,
    }
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        view["error"] = {"code": job.error_code, "message": job.error_message}
    return view


@bp.get("")
@documented(
    "Your video library, newest first",
    {200: VideoPage},
    query=VideoListQuery,
    errors={400: "VALIDATION_ERROR"},
)
def list_videos():
    page = page_args()
    wanted = request.args.get("status", "all").strip().lower() or "all"
    if wanted not in STATUS_FILTER:
        allowed = ", ".join(STATUS_FILTER)
        raise APIError(400, "VALIDATION_ERROR", f"status must be one of: {allowed}", field="status")
    jobs, total = service.list_for_owner(
        current_owner(), STATUS_FILTER[wanted], page.offset, page.limit
    )
    return {"videos": [video_view(job) for job in jobs], **page.body(total)}


@bp.get("/<video_id>")
@documented("One video", {200: LibraryVideo}, errors={404: "JOB_NOT_FOUND"})
def get_video(video_id: str):
    return video_view(service.get_for_owner(_job_id(video_id), current_owner()))


@bp.delete("/<video_id>")
@documented(
    "Delete a video and its files",
    {200: LibraryVideoDeleted},
    errors={404: "JOB_NOT_FOUND", 409: "JOB_ACTIVE"},
)
def delete_video(video_id: str):
    """The video, its thumbnail, its scene stills and the row; 409 while it still renders."""
    job_id = _job_id(video_id)
    service.delete(job_id, current_owner())
    return {"id": job_id, "deleted": True}


@bp.get("/<video_id>/scenes")
@documented(
    "A finished video's scenes",
    {200: VideoScenes},
    errors={404: "JOB_NOT_FOUND", 409: "VIDEO_NOT_READY"},
)
def list_scenes(video_id: str):
    job, manifest = service.scenes_of(_job_id(video_id), current_owner())
    found = manifest["scenes"] if manifest else []
    return {
        "id": job.id,
        "title": manifest["title"] if manifest else None,
        "duration": job.video_duration,
        "script": job.request.get("script_ref"),
        "scenes": [_scene_view(scene) for scene in found],
    }


def _scene_view(scene: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": scene["index"],
        "text": scene["text"],
        "caption": scene["caption"],
        "keywords": scene["keywords"],
        "mood": scene["mood"],
        "visual": scene.get("visual", ""),
        "start": scene["start"],
        "end": scene["end"],
        "image_url": f"/api/video/{scene['still']}",
        "source": scene["source"],
    }
