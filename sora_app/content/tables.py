"""Scripts and their versions: what a creator writes, edits and renders.

Every edit adds a version and leaves the earlier ones alone, so a render names exactly what it
rendered (its job carries that version's body) and an older cut can be rendered again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import iso_utc, new_job_id, utcnow


class Script(db.Model):
    __tablename__ = "scripts"
    __table_args__ = (Index("ix_scripts_owner_updated", "owner_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    owner_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    """The newest version's number."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "version": self.version,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
        }


class ScriptVersion(db.Model):
    __tablename__ = "script_versions"

    script_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("scripts.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_json: Mapped[str] = mapped_column(Text)
    """The script as rendered: title, story type, scenes (see content.bodies.ScriptBody)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.body_json)


class Media(db.Model):
    """One file in a user's media library (a picture or a sound), by a server-chosen id.

    The file lives in the owner's uploads folder as `<id><suffix>`; the row keeps what the
    library lists (kind, size, pixels, seconds) so listing never opens or probes a file.
    """

    __tablename__ = "media"
    __table_args__ = (Index("ix_media_owner_created", "owner_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    owner_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    """"image" or "audio"."""
    name: Mapped[str] = mapped_column(String(255))
    """The file's name in the owner's uploads folder (what manual_image_paths may name)."""
    mime: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="upload")
    """"upload", or "stock" for a stock search result brought into the library."""
    original_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "mime": self.mime,
            "bytes": self.bytes,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "source": self.source,
            "original_name": self.original_name,
            "url": f"/api/media/{self.id}/content",
            "created_at": iso_utc(self.created_at),
        }
