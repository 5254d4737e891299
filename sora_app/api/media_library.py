"""The caller's media library: upload pictures and sounds, list, fetch and delete them."""

from __future__ import annotations

from flask import Blueprint, request, send_file

from ..auth import current_owner
from ..content import media, stock
from ..errors import APIError
from .docs import Binary, Empty, documented
from .media_send import send_media
from .schemas.jobs import FileForm, RangeHeaders
from .schemas.library import (
    MediaItem,
    MediaListQuery,
    MediaPage,
    StockImport,
    StockPage,
    StockQuery,
)
from .uploads import uploaded_file
from .validation import int_arg, json_body, page_args

bp = Blueprint("media_library", __name__, url_prefix="/api/media")

MEDIA_TYPES = ("image/jpeg", "image/png", "audio/mp4")
"""What a library file is served as (pictures are stored as JPEG or PNG, sounds as AAC)."""


@bp.post("")
@documented(
    "Upload a picture or a sound",
    {201: MediaItem},
    form=FileForm,
    errors={
        400: "VALIDATION_ERROR, INVALID_IMAGE, UNSUPPORTED_MEDIA, AUDIO_TOO_LONG",
        413: "REQUEST_ENTITY_TOO_LARGE",
    },
)
def upload_media():
    """multipart/form-data with the file in `file`: a picture or a sound, told by its bytes."""
    file = uploaded_file("the picture or sound")
    return media.add(file, current_owner(), file.filename).to_dict(), 201


@bp.get("")
@documented(
    "Your media, newest first",
    {200: MediaPage},
    query=MediaListQuery,
    errors={400: "VALIDATION_ERROR"},
)
def list_media():
    page = page_args()
    kind = request.args.get("kind", "").strip().lower() or None
    if kind is not None and kind not in media.KINDS:
        raise APIError(
            400, "VALIDATION_ERROR", f"kind must be one of: {', '.join(media.KINDS)}", field="kind"
        )
    found, total = media.list_for_owner(current_owner(), kind, page.offset, page.limit)
    return {"media": [row.to_dict() for row in found], **page.body(total)}


@bp.get("/stock")
@documented(
    "Search stock pictures (offline paintings without a stock service)",
    {200: StockPage},
    query=StockQuery,
    errors={400: "VALIDATION_ERROR"},
)
def search_stock():
    """?q=words&orientation=portrait|landscape|square&page=N (six results a page)."""
    orientation = request.args.get("orientation", "portrait").strip().lower()
    page = int_arg("page", 1, 1, stock.MAX_PAGES)
    return stock.search(request.args.get("q", "")[:200], orientation, page)


@bp.get("/stock/<token>/preview")
@documented(
    "A stock result's preview",
    {200: Binary(("image/jpeg",))},
    errors={404: "STOCK_NOT_FOUND"},
    auth="media",
)
def preview_stock(token: str):
    return send_file(stock.preview(token), mimetype="image/jpeg", conditional=True, max_age=86400)


@bp.post("/stock")
@documented(
    "Bring a stock result into your library",
    {201: MediaItem},
    request=StockImport,
    errors={400: "VALIDATION_ERROR", 404: "STOCK_NOT_FOUND"},
)
def import_stock():
    """{"id": a search result's id}: the picture joins the caller's library (201)."""
    token = json_body().get("id")
    if not isinstance(token, str) or not token:
        raise APIError(400, "VALIDATION_ERROR", "Send a search result's id.", field="id")
    return stock.bring_in(token[:2000], current_owner()).to_dict(), 201


@bp.get("/<media_id>")
@documented("One media item", {200: MediaItem}, errors={404: "MEDIA_NOT_FOUND"})
def get_media(media_id: str):
    return media.get(media_id, current_owner()).to_dict()


@bp.get("/<media_id>/content")
@documented(
    "A media item's bytes (Range works)",
    {200: Binary(MEDIA_TYPES), 206: Binary(MEDIA_TYPES, "A range")},
    headers=RangeHeaders,
    errors={404: "MEDIA_NOT_FOUND", 416: "REQUESTED_RANGE_NOT_SATISFIABLE"},
    auth="media",
)
def get_media_content(media_id: str):
    row = media.get(media_id, current_owner())
    return send_media(media.file_of(row), row.mime)


@bp.delete("/<media_id>")
@documented("Delete a media item", {204: Empty()}, errors={404: "MEDIA_NOT_FOUND"})
def delete_media(media_id: str):
    media.delete(media_id, current_owner())
    return "", 204
