"""POST /api/uploads: put an image into the uploads folder so manual_image_paths can name it.

The older, picture-only door to the media library (/api/media), kept for existing clients.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.datastructures import FileStorage

from ..auth import current_owner
from ..content import media
from ..errors import APIError
from ..jobs import uploads
from .docs import documented
from .schemas.jobs import FileForm, StoredImage, Uploads

bp = Blueprint("uploads", __name__, url_prefix="/api")


def allow_upload_size() -> None:
    """Uploads may be larger than JSON bodies; call before touching request.files."""
    request.max_content_length = int(current_app.config["MAX_UPLOAD_BYTES"])


def uploaded_file(what: str) -> FileStorage:
    """The multipart field `file` (uploads may be larger than JSON bodies), or 400."""
    allow_upload_size()
    file = request.files.get("file")
    if file is None or not file.filename:
        raise APIError(
            400, "VALIDATION_ERROR", f"Send {what} as multipart form field 'file'.", field="file"
        )
    return file


@bp.post("/uploads")
@documented(
    "Upload a picture for manual_image_paths",
    {201: StoredImage},
    form=FileForm,
    errors={
        400: "VALIDATION_ERROR, INVALID_IMAGE, UNSUPPORTED_MEDIA",
        413: "REQUEST_ENTITY_TOO_LARGE",
    },
)
def create_upload():
    file = uploaded_file("the image")
    stored = uploads.save_image(file, current_owner())
    media.record_image(stored, current_owner(), file.filename)
    return stored, 201


@bp.get("/uploads")
@documented("Your uploaded pictures", {200: Uploads})
def list_uploads():
    files = uploads.list_images(current_owner())
    return {"uploads": [{"path": name, "bytes": size} for name, size in files]}
