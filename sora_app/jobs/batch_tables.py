"""Batches: many videos asked for in one request, fed to the queue a few at a time.

An item is written with its whole job request when the batch is made and gets a job only
when the feeder (jobs.batches) submits it, so a batch never floods the queue ahead of other
people's single videos and never needs more room in the queue than it is using.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import new_job_id, utcnow


class Batch(db.Model):
    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_owner_created", "owner_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    owner_id: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BatchItem(db.Model):
    __tablename__ = "batch_items"
    __table_args__ = (Index("ix_batch_items_job", "job_id"),)

    batch_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    """The topic, or the script's title: what the caller recognises the item by."""
    request_json: Mapped[str] = mapped_column(Text)
    """The item's whole job request (a JobSpec), checked when the batch was made."""
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Set (before its job exists) by the feeder that submits it; None while it waits."""
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Why the item never became a job (e.g. a picture it names was deleted meanwhile)."""
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)

    @property
    def request(self) -> dict[str, Any]:
        return json.loads(self.request_json)
