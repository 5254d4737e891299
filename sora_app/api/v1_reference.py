"""A /v1 create's `input_reference`: a file part, a library `file_id`, or an `image_url`.

Whatever the form, the picture ends up as one of the caller's uploads, normalised like any
other (jobs.uploads), and the job names it: the first scene of a local render, the first
frame sent to a gateway.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from pathlib import Path
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from ..errors import APIError
from ..jobs import uploads
from ..jobs.spec import UPLOAD_SUFFIXES
from ..providers.ssrf import AllowList
from ..providers.url_fetch import FetchFailed, UnsafeURL, fetch_to

FIELD = "input_reference"
DATA_URL = re.compile(r"^data:image/[a-z0-9.+-]+;base64,(?P<data>.*)$", re.IGNORECASE | re.DOTALL)


def _bad(message: str, field: str = FIELD) -> APIError:
    return APIError(400, "INVALID_INPUT_REFERENCE", message, field=field)


def reference_of(value: Any, file: FileStorage | None, owner: str) -> str | None:
    """The upload name (or media id) the job should use, or None without a reference."""
    if file is not None and file.filename:
        return str(uploads.save_image(file, owner, field=FIELD)["path"])
    if value in (None, ""):
        return None
    if isinstance(value, str):  # a form field carrying the JSON object
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad("input_reference must be a file or {image_url} / {file_id}.") from None
    if not isinstance(value, dict) or len(value) != 1:
        raise _bad("input_reference must be a file or one of {image_url} / {file_id}.")
    if "file_id" in value:
        return _library_picture(value["file_id"], owner)
    if "image_url" in value and isinstance(value["image_url"], str):
        return _from_url(value["image_url"], owner)
    raise _bad("input_reference must be a file or one of {image_url} / {file_id}.")


def _library_picture(file_id: Any, owner: str) -> str:
    """A picture of the caller's media library, by its id (what /api/media answers)."""
    field = f"{FIELD}.file_id"
    if not isinstance(file_id, str) or not 0 < len(file_id) <= 200:
        raise _bad("file_id must be a media id from /api/media.", field)
    uploads.check_named_media([(field, file_id, UPLOAD_SUFFIXES)], owner)
    return file_id


def _from_url(url: str, owner: str) -> str:
    """A data: URL's bytes, or an http(s) URL fetched from a public (or allow-listed) host."""
    field = f"{FIELD}.image_url"
    limit = int(current_app.config["MAX_UPLOAD_BYTES"])
    folder = uploads.owner_folder(owner)
    staging = folder / f".{uuid.uuid4().hex}.part"
    try:
        match = DATA_URL.match(url.strip())
        if match is not None:
            staging.write_bytes(_decoded(match["data"], limit, field))
        else:
            _fetch(url, staging, limit, field)
        return str(uploads.store_image(staging, folder, field)["path"])
    finally:
        staging.unlink(missing_ok=True)


def _decoded(data: str, limit: int, field: str) -> bytes:
    if len(data) > limit * 4 // 3 + 4:
        raise APIError(
            413,
            "REQUEST_ENTITY_TOO_LARGE",
            f"The image is over {limit} bytes (SORA_MAX_UPLOAD_BYTES).",
            field=field,
        )
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _bad("image_url is not valid base64.", field) from None


def _fetch(url: str, dest: Path, limit: int, field: str) -> None:
    allow = AllowList.parse(current_app.config["IMAGE_URL_ALLOW_HOSTS"])
    timeout = float(current_app.config["IMAGE_URL_TIMEOUT_SECONDS"])
    try:
        fetch_to(url, dest, limit, allow, timeout)
    except UnsafeURL as exc:
        raise _bad(f"image_url may not be fetched: {exc.message}", field) from None
    except FetchFailed as exc:
        raise _bad(f"image_url could not be fetched: {exc}", field) from None
