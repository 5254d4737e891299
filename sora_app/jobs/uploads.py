"""The uploads folder: storing, listing and checking the images a job may name.

Files are checked here, outside the blueprints: the bytes decide the format, names are
chosen by the server, and a job may only name plain files inside its owner's folder.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from PIL import Image

from ..errors import APIError
from ..pipeline.images import displayed_size, size_problem
from ..safe_paths import safe_file
from ..storage import storage_for
from .spec import UPLOAD_SUFFIXES, resolve_upload

FORMAT_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
"""What Pillow says the bytes are decides the stored suffix, not the client's file name."""
UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
"""What Pillow raises for bytes that are no image (UnidentifiedImageError is an OSError)."""


class SavesTo(Protocol):
    """What save_image needs of werkzeug's FileStorage, so this module needs no request."""

    def save(self, dst: Path) -> Any: ...


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


def owner_folder(owner_id: str) -> Path:
    """The owner's uploads folder (made on first use)."""
    folder = storage_for(current_app.config).uploads_dir(owner_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_image(file: SavesTo, owner_id: str, field: str = "file") -> dict[str, Any]:
    """Store an uploaded image under a server-chosen name in the owner's uploads folder."""
    uploads = owner_folder(owner_id)
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


def list_images(owner_id: str) -> list[tuple[str, int]]:
    """Regular image files only, newest first: a planted symlink is neither listed nor sized."""
    folder = owner_folder(owner_id)
    found: list[tuple[str, os.stat_result]] = []
    for entry in folder.iterdir():
        path = safe_file(folder, entry.name)
        if path is None or path.suffix not in UPLOAD_SUFFIXES:
            continue
        try:
            found.append((path.name, path.lstat()))
        except OSError:  # deleted meanwhile
            continue
    found.sort(key=lambda item: item[1].st_mtime, reverse=True)
    return [(name, info.st_size) for name, info in found]


def check_named_images(names: list[str], owner_id: str) -> None:
    """manual_image_paths may only name files inside the owner's uploads folder (400)."""
    if not names:
        return
    uploads = storage_for(current_app.config).uploads_dir(owner_id)
    for index, name in enumerate(names):
        try:
            resolve_upload(name, uploads)
        except ValueError as exc:
            field = f"manual_image_paths[{index}]"
            raise APIError(400, "VALIDATION_ERROR", f"{field}: {exc}", field=field) from None
