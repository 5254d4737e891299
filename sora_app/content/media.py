"""The only door to a user's media library: pictures and sounds by id, each a checked file.

A picture or sound arrives, its bytes decide what it is, it is normalised (pictures upright
in sRGB without metadata, sounds as AAC) and stored under a server-chosen name in the
owner's uploads folder with a row describing it. Scenes, `manual_image_paths` and
`music_track` name it by that id (or the returned name); never by a server path.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import current_app
from PIL import Image
from sqlalchemy import func, select

from ..errors import APIError
from ..extensions import db
from ..jobs import uploads
from ..jobs.spec import MEDIA_ID
from ..safe_paths import safe_file
from .sounds import store_sound
from .tables import Media

KINDS = ("image", "audio")


class MediaNotFound(APIError):
    def __init__(self, media_id: str) -> None:
        super().__init__(
            404, "MEDIA_NOT_FOUND", f"No media with id {media_id[:64]!r}.", field="media_id"
        )


def _is_picture(path: Path) -> bool:
    try:
        with Image.open(path):
            return True
    except uploads.UNREADABLE:
        return False


def add(file: uploads.SavesTo, owner_id: str, original_name: str, source: str = "upload") -> Media:
    """Check, normalise and keep one received file; 400 for anything else it could be."""
    folder = uploads.owner_folder(owner_id)
    staging = folder / f".{uuid.uuid4().hex}.part"
    try:
        file.save(staging)
        if _is_picture(staging):
            stored = uploads.store_image(staging, folder)
            row = Media(
                id=stored["id"], kind="image", name=stored["path"], mime=stored["mime"],
                width=stored["width"], height=stored["height"],
            )  # fmt: skip
        else:
            media_id = uuid.uuid4().hex
            limit = float(current_app.config["MAX_AUDIO_SECONDS"])
            seconds = store_sound(staging, folder / f"{media_id}.m4a", limit)
            row = Media(id=media_id, kind="audio", name=f"{media_id}.m4a", mime="audio/mp4",
                        duration=seconds)  # fmt: skip
    finally:
        staging.unlink(missing_ok=True)
    row.owner_id, row.source = owner_id, source
    row.original_name = Path(original_name or "").name[:200]
    row.bytes = (folder / row.name).stat().st_size
    db.session.add(row)
    db.session.commit()
    return row


def record_image(stored: dict, owner_id: str, original_name: str, source: str = "upload") -> Media:
    """A row for a picture already stored (by /api/uploads, or from a stock result)."""
    row = Media(
        id=stored["id"], owner_id=owner_id, kind="image", name=stored["path"], source=source,
        mime=stored["mime"], bytes=stored["bytes"], width=stored["width"],
        height=stored["height"], original_name=Path(original_name or "").name[:200],
    )  # fmt: skip
    db.session.add(row)
    db.session.commit()
    return row


def list_for_owner(
    owner_id: str, kind: str | None, offset: int, limit: int
) -> tuple[list[Media], int]:
    """One page of the owner's media, newest first, and how many match in all."""
    where = [Media.owner_id == owner_id]
    if kind:
        where.append(Media.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(Media).where(*where)) or 0
    page = db.session.scalars(
        select(Media).where(*where).order_by(Media.created_at.desc(), Media.id.desc())
        .offset(offset).limit(limit)
    ).all()  # fmt: skip
    return list(page), int(total)


def get(media_id: str, owner_id: str) -> Media:
    row = db.session.get(Media, media_id) if MEDIA_ID.fullmatch(media_id) else None
    if row is None or row.owner_id != owner_id:
        raise MediaNotFound(media_id)
    return row


def file_of(row: Media) -> Path:
    """The row's file; 404 if it went missing (or was swapped for a link) behind our back."""
    found = safe_file(uploads.owner_folder(row.owner_id), row.name)
    if found is None:
        raise MediaNotFound(row.id)
    return found


def delete(media_id: str, owner_id: str) -> None:
    """File first, then row: a row without its file is a 404, a file without a row a leak.

    Renders that named it and have not painted it yet fail with BAD_IMAGE; finished videos
    keep their own copies.
    """
    row = get(media_id, owner_id)
    (uploads.owner_folder(owner_id) / row.name).unlink(missing_ok=True)
    db.session.delete(row)
    db.session.commit()
