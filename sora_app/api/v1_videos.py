"""/v1/videos: the OpenAI Videos API, served over our jobs, for the official SDKs.

Shapes follow ../shared/contract/03-external-video-api.md (we speak it as a client too);
errors on /v1 take OpenAI's shape (errors.openai_error), so the SDKs raise their own
exception types. Who the caller is comes from auth._openai_owner.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

from flask import Blueprint, current_app, request

from ..auth import current_owner
from ..errors import APIError
from ..extensions import limiter
from ..jobs import service, store, videos_api
from ..jobs.spec import JobSpec
from ..models import FINAL_STATUSES, Job, JobStatus
from ..ratelimits import accepted, caller, limit_from
from .docs import Binary, documented
from .schemas.requests import CreateVideoRequest
from .schemas.v1 import ContentQuery, CreateForm, ListQuery, Video, VideoDeleted, VideoList
from .v1_content import check_variant, content_response
from .v1_reference import reference_of
from .validation import json_body, parse

bp = Blueprint("v1_videos", __name__, url_prefix="/v1")

LIST_LIMIT = (1, 100, 20)
"""`limit` bounds and default of GET /v1/videos."""
DELETE_WAIT_SECONDS = 10.0
"""How long DELETE of a running video waits for its render to stop (a cancel is ~1 s)."""


FORM_KEY = re.compile(r"^(?P<name>[A-Za-z_]+)\[(?P<key>[A-Za-z_]+)\]$")


def _body() -> tuple[dict[str, Any], Any]:
    """JSON, or multipart form fields plus the `input_reference` file part.

    The SDK sends every create as multipart, an object field in brackets
    (`input_reference[image_url]`): such fields become the object again.
    """
    if request.mimetype != "multipart/form-data":
        return json_body(), None
    request.max_content_length = int(current_app.config["MAX_UPLOAD_BYTES"])
    body: dict[str, Any] = {}
    for name, value in request.form.items():
        match = FORM_KEY.match(name)
        if match is None:
            body[name] = value
        elif isinstance(body.setdefault(match["name"], {}), dict):
            body[match["name"]][match["key"]] = value
    return body, request.files.get("input_reference")


def _video(video: str) -> Job:
    try:
        return service.get_for_owner(videos_api.job_id(video), current_owner())
    except service.JobNotFound:
        raise APIError(404, "VIDEO_NOT_FOUND", f"No video {video!r}.", field="video_id") from None


def _shown(job: Job) -> dict[str, Any]:
    return videos_api.video_object(job, current_app.config)


@bp.post("/videos")
@documented(
    "Create a video (OpenAI Videos API)",
    {200: Video},
    request=CreateVideoRequest,
    form=CreateForm,
    auth="openai",
    errors={
        400: "VALIDATION_ERROR, MODEL_NOT_FOUND, INVALID_INPUT_REFERENCE, WEBHOOK_URL_NOT_ALLOWED",
        429: "QUEUE_FULL, RATE_LIMITED",
    },
    examples={"boat": {"prompt": "A paper boat in the rain", "seconds": "8", "size": "720x1280"}},
)
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def create_video():
    body, file = _body()
    params = parse(videos_api.CreateParams, body)
    owner = current_owner()
    reference = reference_of(body.get("input_reference"), file, owner)
    fields, task = videos_api.create_fields(params, reference, current_app.config)
    job = service.submit(parse(JobSpec, fields), owner, task=task)
    return _shown(job)


@bp.get("/videos/<video_id>")
@documented("A video", {200: Video}, errors={404: "VIDEO_NOT_FOUND"}, auth="openai")
def get_video(video_id: str):
    return _shown(_video(video_id))


@bp.get("/videos")
@documented(
    "Your videos (cursor pages)",
    {200: VideoList},
    query=ListQuery,
    auth="openai",
    errors={400: "INVALID_LIMIT, INVALID_ORDER, INVALID_CURSOR"},
)
def list_videos():
    low, high, default = LIST_LIMIT
    raw = request.args.get("limit", str(default))
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise APIError(400, "INVALID_LIMIT", f"limit must be {low} to {high}.", field="limit")
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise APIError(400, "INVALID_ORDER", "order must be asc or desc.", field="order")
    after = request.args.get("after")
    limit = int(raw)
    after_id = videos_api.job_id(after) if after else None
    page = store.page_after(current_owner(), after_id, limit + 1, order == "desc")
    if page is None:
        raise APIError(400, "INVALID_CURSOR", f"No video {after!r} to list after.", field="after")
    data = [_shown(job) for job in page[:limit]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(page) > limit,
    }


@bp.delete("/videos/<video_id>")
@documented(
    "Delete a video (cancelling its render)",
    {200: VideoDeleted},
    auth="openai",
    errors={404: "VIDEO_NOT_FOUND", 409: "VIDEO_BUSY"},
)
def delete_video(video_id: str):
    """Deletes a finished video; a queued or running one is cancelled first."""
    job, owner = _video(video_id), current_owner()
    if job.job_status not in FINAL_STATUSES:
        with contextlib.suppress(service.JobFinished):  # it finished meanwhile: delete it
            service.cancel(job.id, owner)
        _wait_until_stopped(job.id, owner)
    try:
        service.delete(job.id, owner)
    except service.JobActive:
        raise APIError(
            409, "VIDEO_BUSY", "The video is still stopping; try DELETE again in a few seconds."
        ) from None
    return {"id": video_id, "object": "video.deleted", "deleted": True}


def _wait_until_stopped(job_id: str, owner: str) -> None:
    deadline = time.monotonic() + DELETE_WAIT_SECONDS
    while time.monotonic() < deadline:
        job = service.current_view(job_id, owner)
        if job is None or job.job_status in FINAL_STATUSES:
            return
        time.sleep(0.1)


@bp.get("/videos/<video_id>/content")
@documented(
    "The video (MP4, Range), a WebP thumbnail or a JPEG spritesheet",
    query=ContentQuery,
    responses={
        200: Binary(("video/mp4", "image/webp", "image/jpeg")),
        206: Binary(("video/mp4", "image/webp", "image/jpeg"), "A range"),
    },
    errors={
        400: "INVALID_VARIANT",
        404: "VIDEO_NOT_FOUND, CONTENT_NOT_FOUND",
        409: "VIDEO_NOT_READY",
    },
    auth="openai",
)
def get_video_content(video_id: str):
    variant = request.args.get("variant", "video")
    check_variant(variant)
    job = _video(video_id)
    if job.job_status is not JobStatus.COMPLETED:
        raise APIError(409, "VIDEO_NOT_READY", f"The video is {videos_api.STATUS[job.job_status]}.")
    return content_response(job, variant, current_owner())


@bp.post("/videos/<video_id>/remix")
@documented(
    "Remix a video with a new prompt",
    {200: Video},
    request=videos_api.RemixParams,
    auth="openai",
    errors={
        400: "VALIDATION_ERROR",
        404: "VIDEO_NOT_FOUND",
        409: "VIDEO_NOT_READY, VIDEO_NOT_REMIXABLE",
        429: "QUEUE_FULL, RATE_LIMITED",
    },
)
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def remix_video(video_id: str):
    params = parse(videos_api.RemixParams, json_body())
    original, owner = _video(video_id), current_owner()
    manifest = None
    if original.job_status is JobStatus.COMPLETED and original.engine != "sora":
        manifest = service.scenes_of(original.id, owner)[1]
    fields, task = videos_api.remix_fields(original, params.prompt, manifest)
    job = service.submit(parse(JobSpec, fields), owner, task=task)
    return _shown(job)
