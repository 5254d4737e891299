"""The uploads folder: storing, listing and checking the images a job may name.

Files are checked here, outside the blueprints: the bytes decide the format, names are
chosen by the server, and a job may only name plain files inside its owner's folder.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from PIL import Image, ImageCms, ImageOps

from ..errors import APIError
from ..pipeline.images import JPEG_QUALITY, displayed_size, size_problem
from ..safe_paths import safe_file
from ..storage import storage_for
from .spec import UPLOAD_SUFFIXES, resolve_upload

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
"""What Pillow says the bytes are decides, not the client's file name; pictures are stored as
PNG when they came as PNG or have transparency, else JPEG."""
SRGB = ImageCms.createProfile("sRGB")
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
    if fmt not in ACCEPTED_FORMATS:
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
    """Store an uploaded image, normalised, under a server-chosen name in the owner's folder."""
    uploads = owner_folder(owner_id)
    staging = uploads / f".{uuid.uuid4().hex}.part"
    try:
        file.save(staging)
        return store_image(staging, uploads, field)
    finally:
        staging.unlink(missing_ok=True)


def store_image(staging: Path, uploads: Path, field: str = "file") -> dict[str, Any]:
    """Check a received picture, then keep it upright, in sRGB and without its metadata.

    Normalised once here, a picture looks the same in the library, in a still and in every
    render, and its EXIF (a phone photo's GPS position) never leaves the server again.
    """
    fmt, _width, _height = _check_image(staging, field)
    media_id = uuid.uuid4().hex
    with Image.open(staging) as src:
        src.load()
        img = _in_srgb(ImageOps.exif_transpose(src))
    alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    lossless = alpha or fmt == "PNG"  # drawings and screenshots stay sharp
    name = f"{media_id}{'.png' if lossless else '.jpg'}"
    part = uploads / f".{name}.part"
    try:
        if lossless:
            img.convert("RGBA" if alpha else "RGB").save(part, "PNG")
        else:
            img.convert("RGB").save(part, "JPEG", quality=JPEG_QUALITY, subsampling=0)
        part.replace(uploads / name)
    finally:
        part.unlink(missing_ok=True)
    return {
        "id": media_id,
        "path": name,
        "width": img.width,
        "height": img.height,
        "bytes": (uploads / name).stat().st_size,
        "mime": "image/png" if lossless else "image/jpeg",
    }


def _in_srgb(img: Image.Image) -> Image.Image:
    """Convert an embedded colour profile (Display P3, Adobe RGB, CMYK) to sRGB."""
    profile = img.info.get("icc_profile")
    if not profile:
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        mode = "RGBA" if img.mode in ("RGBA", "LA", "PA") else "RGB"
        converted = ImageCms.profileToProfile(img, source, SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img  # a broken profile: the pixels as they are beat refusing the picture
    return converted or img


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


def check_named_media(named: list[tuple[str, str, frozenset[str]]], owner_id: str) -> None:
    """Each (field, name or media id, suffixes) must be a file of that kind in the owner's
    uploads folder (400 naming the field): a job may not name anything else."""
    if not named:
        return
    uploads = storage_for(current_app.config).uploads_dir(owner_id)
    for field, name, suffixes in named:
        try:
            resolve_upload(name, uploads, suffixes)
        except ValueError as exc:
            raise APIError(400, "VALIDATION_ERROR", f"{field}: {exc}", field=field) from None
