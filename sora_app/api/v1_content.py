"""GET /v1/videos/{id}/content: the video (Range), a WebP thumbnail or a spritesheet."""

from __future__ import annotations

import io

from flask import Response, send_file

from ..errors import APIError
from ..jobs import service
from ..models import Job
from ..pipeline.sprites import spritesheet, webp_of
from .media_send import send_media

VARIANTS = ("video", "thumbnail", "spritesheet")


def check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise APIError(
            400,
            "INVALID_VARIANT",
            f"variant must be one of {', '.join(VARIANTS)}.",
            field="variant",
        )


def content_response(job: Job, variant: str, owner: str) -> Response:
    """Bytes of one variant of the owner's finished video (ETag and Last-Modified from its
    file, so a client's cache revalidates instead of downloading again)."""
    name = job.thumbnail_path if variant == "thumbnail" else job.video_path
    path = service.media_file(name, owner) if name else None
    if path is None:
        raise APIError(404, "CONTENT_NOT_FOUND", f"This video has no {variant} file.")
    if variant == "video":
        return send_media(path, "video/mp4", accel_name=name)
    made = webp_of(path) if variant == "thumbnail" else spritesheet(path)
    stat = path.stat()
    response = send_file(
        io.BytesIO(made),
        mimetype="image/webp" if variant == "thumbnail" else "image/jpeg",
        conditional=True,
        etag=f"{variant}-{stat.st_mtime_ns:x}-{stat.st_size:x}",
        last_modified=stat.st_mtime,
        max_age=3600,
    )
    return response
