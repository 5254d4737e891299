"""POST /api/uploads: put an image into the uploads folder so manual_image_paths can name it."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import Blueprint, current_app, request
from PIL import Image, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

from ..auth import current_owner
from ..errors import APIError
from ..jobs.spec import UPLOAD_SUFFIXES, user_uploads_dir

bp = Blueprint("uploads", __name__, url_prefix="/api")

MAX_PIXELS = 40_000_000
"""Larger images would cost hundreds of MB to decode in the images stage."""

FORMAT_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
"""What Pillow says the bytes are decides the stored suffix, not the client's file name."""


def _check_image(path: Path, field: str) -> tuple[str, int, int]:
    try:
        with Image.open(path) as img:
            img.verify()
            fmt, (width, height) = img.format or "", img.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise APIError(
            400, "INVALID_IMAGE", "The file is not a readable image.", field=field
        ) from None
    if width * height > MAX_PIXELS:
        raise APIError(
            400,
            "INVALID_IMAGE",
            f"The image is {width}x{height}; at most {MAX_PIXELS // 1_000_000} megapixels.",
            field=field,
        )
    if fmt not in FORMAT_SUFFIX:
        allowed = ", ".join(sorted(UPLOAD_SUFFIXES))
        raise APIError(400, "INVALID_IMAGE", f"Images must be {allowed}.", field=field)
    return fmt, width, height


def _my_uploads() -> Path:
    folder = user_uploads_dir(current_app.config["UPLOADS_DIR"], current_owner())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def allow_upload_size() -> None:
    """Uploads may be larger than JSON bodies; call before touching request.files."""
    request.max_content_length = int(current_app.config["MAX_UPLOAD_BYTES"])


@bp.post("/uploads")
def create_upload():
    allow_upload_size()
    file = request.files.get("file")
    if file is None or not file.filename:
        raise APIError(
            400, "VALIDATION_ERROR", "Send the image as multipart form field 'file'.", field="file"
        )
    return save_image(file), 201


def save_image(file: FileStorage, field: str = "file") -> dict:
    """Store an uploaded image under a server-chosen name in the caller's uploads folder."""
    uploads = _my_uploads()
    staging = uploads / f".{uuid.uuid4().hex}.part"
    try:
        file.save(staging)
        fmt, width, height = _check_image(staging, field)
        name = f"{uuid.uuid4().hex}{FORMAT_SUFFIX[fmt]}"
        staging.replace(uploads / name)
    finally:
        staging.unlink(missing_ok=True)
    size = (uploads / name).stat().st_size
    return {"path": name, "width": width, "height": height, "bytes": size}


@bp.get("/uploads")
def list_uploads():
    uploads = _my_uploads()
    files = sorted(
        (p for p in uploads.iterdir() if p.is_file() and p.suffix in UPLOAD_SUFFIXES),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    return {"uploads": [{"path": p.name, "bytes": p.stat().st_size} for p in files]}
