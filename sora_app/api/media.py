"""Serves finished videos and thumbnails with HTTP Range, HEAD and conditional requests."""

from __future__ import annotations

import re

from flask import Blueprint

from ..auth import current_owner
from ..errors import APIError
from ..jobs import service
from .docs import Binary, documented
from .media_send import send_media
from .schemas.jobs import RangeHeaders

bp = Blueprint("media", __name__, url_prefix="/api")

SERVABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,120}\.(mp4|jpg)$")
"""Only names the pipeline produces; no dot-files (temp output), no separators."""

MIMETYPES = {"mp4": "video/mp4", "jpg": "image/jpeg"}


@bp.get("/video/<filename>")
@documented(
    "A finished video (MP4) or thumbnail (.jpg), with Range",
    headers=RangeHeaders,
    responses={
        200: Binary(("video/mp4", "image/jpeg")),
        206: Binary(("video/mp4", "image/jpeg"), "A range"),
        304: Binary((), "Not modified"),
    },
    errors={404: "VIDEO_NOT_FOUND", 416: "REQUESTED_RANGE_NOT_SATISFIABLE"},
    auth="media",
)
def get_video(filename: str):
    match = SERVABLE.match(filename)
    if match is None:
        raise APIError(404, "VIDEO_NOT_FOUND", "No such video.", field="filename")
    path = service.media_file(filename, current_owner())
    if path is None:
        raise APIError(404, "VIDEO_NOT_FOUND", f"No video named {filename!r}.", field="filename")
    return send_media(path, MIMETYPES[match.group(1)], accel_name=filename)
