"""POST /api/uploads: put an image into the uploads folder so manual_image_paths can name it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from flask import Blueprint, current_app, request
from PIL import Image
from werkzeug.datastructures import FileStorage

from ..auth import current_owner
from ..errors import APIError
from ..jobs.spec import UPLOAD_SUFFIXES, user_uploads_dir
from ..pipeline.images import displayed_size, size_problem
from ..safe_paths import safe_file

bp = Blueprint("uploads", __name__, url_prefix="/api")

FORMAT_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
"""What Pillow says the bytes are decides the stored suffix, not the client's file name."""
UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
"""What Pillow raises for bytes that are no image (UnidentifiedImageError is an OSError)."""


def _invalid(field: str, message: str = "The file is not a readable image.") -> APIError:
    return APIError(400, "INVALID_IMAGE", message, field=field)


def _check_image(path: Path, field: str) -> tuple[str, int, int]:
    """Header first (format and size limits, nothing decoded), then one full decode.

    The decode is what catches truncated files, which would otherwise be accepted here and
    fail only at render time; the limits make sure it can never cost more than MAX_PIXELS.
    Returns the format and the displayed (EXIF-rotated) width and height.
    """
    try:
        with Image.open(path) as img:
            fmt, (width, height) = img.format or "", img.size
    except UNREADABLE:
        raise _invalid(field) from None
    if fmt not in FORMAT_SUFFIX:
        allowed = ", ".join(sorted(UPLOAD_SUFFIXES))
        raise _invalid(field, f"Images must be {allowed}.")
    problem = size_problem(width, height)
    if problem:
        raise _invalid(field, f"The image is {width}x{height} pixels; {problem}.")
    try:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:  # verify() leaves the image unusable: reopen to decode
            img.load()
            return fmt, *displayed_size(img)
    except UNREADABLE:
        raise _invalid(field, "The image is damaged or incomplete.") from None


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


def _listed(folder: Path) -> list[tuple[str, os.stat_result]]:
    """Regular image files only, newest first: a planted symlink is neither listed nor sized."""
    found = []
    for entry in folder.iterdir():
        path = safe_file(folder, entry.name)
        if path is None or path.suffix not in UPLOAD_SUFFIXES:
            continue
        try:
            found.append((path.name, path.lstat()))
        except OSError:  # deleted meanwhile
            continue
    return sorted(found, key=lambda item: item[1].st_mtime, reverse=True)


@bp.get("/uploads")
def list_uploads():
    files = _listed(_my_uploads())
    return {"uploads": [{"path": name, "bytes": info.st_size} for name, info in files]}
