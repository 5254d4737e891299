"""Upstream DELETEs that failed: kept as pending work, retried with backoff, reported.

A cancelled or timed-out external render must stop at the paid gateway too. The cancel's
own DELETE is retried like every call; when the gateway still refuses (a 503 spell), the
delete lands here, the job's details say so, and each maintenance pass tries the due ones
again until the gateway answers or GIVE_UP_SECONDS pass.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask
from sqlalchemy import Float, Index, Integer, String, Text, and_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..pipeline.sora import delete_video
from . import store, upstreams

log = logging.getLogger(__name__)

RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)
"""Seconds before each retry; the last repeats until the delete is done or given up."""
GIVE_UP_SECONDS = 3 * 86400.0
"""A gateway that refuses DELETE for three days is a case for its operator, not a loop."""
CLAIM_SECONDS = 60.0
"""A claimed retry is due again after this long if its process died mid-call."""
RETRY_DEADLINE_SECONDS = 20.0
PER_PASS = 10
"""Retries per maintenance pass, so a dead gateway cannot stall the pass for long."""


class UpstreamDelete(db.Model):
    __tablename__ = "upstream_deletes"
    __table_args__ = (Index("ix_upstream_deletes_due", "state", "next_at"),)

    video_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    upstream: Mapped[str] = mapped_column(String(16), default="video")
    reason: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending (retried when due) · done · failed (given up)."""
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    next_at: Mapped[float] = mapped_column(Float)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)


def _delay(attempts: int) -> float:
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def record(job_id: str, video_id: str, reason: str, error: str, now: float | None = None) -> None:
    """Keep a failed DELETE (its first try already spent) for the maintenance retries."""
    now = time.time() if now is None else now
    row = db.session.get(UpstreamDelete, video_id)
    if row is None:
        row = UpstreamDelete(video_id=video_id, job_id=job_id, reason=reason, created_at=now)
        db.session.add(row)
    row.state, row.attempts, row.last_error = "pending", (row.attempts or 0) + 1, error
    row.next_at = now + _delay(row.attempts)
    db.session.commit()
    store.touch(job_id)
    log.warning("event=external_delete_pending job=%s video_id=%s", job_id, video_id)


def report(job_id: str) -> dict[str, Any] | None:
    """What a job's details show about its upstream DELETE, or None when none failed."""
    row = db.session.scalar(select(UpstreamDelete).where(UpstreamDelete.job_id == job_id))
    if row is None:
        return None
    return {
        "video_id": row.video_id,
        "status": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "next_attempt_at": row.next_at if row.state == "pending" else None,
    }


def pending_count() -> int:
    rows = select(db.func.count()).select_from(UpstreamDelete)
    return int(db.session.scalar(rows.where(UpstreamDelete.state == "pending")) or 0)


def retry_due(app: Flask, now: float | None = None) -> int:
    """Try every due DELETE once (each claimed first, so two hosts never both send it)."""
    now = time.time() if now is None else now
    due = (
        select(UpstreamDelete.video_id)
        .where(UpstreamDelete.state == "pending", UpstreamDelete.next_at <= now)
        .order_by(UpstreamDelete.next_at)
        .limit(PER_PASS)
    )
    done = 0
    for video_id in db.session.scalars(due).all():
        if _claim(video_id, now):
            done += _retry(app, video_id, now)
    return done


def _claim(video_id: str, now: float) -> bool:
    stmt = (
        update(UpstreamDelete)
        .where(and_(UpstreamDelete.video_id == video_id, UpstreamDelete.state == "pending"))
        .where(UpstreamDelete.next_at <= now)
        .values(next_at=now + CLAIM_SECONDS)
    )
    claimed = db.session.execute(stmt).rowcount == 1
    db.session.commit()
    return claimed


def _retry(app: Flask, video_id: str, now: float) -> int:
    """One try; done, due again after the backoff, or given up after GIVE_UP_SECONDS."""
    row = db.session.get(UpstreamDelete, video_id)
    if row is None:  # its job was deleted meanwhile
        return 0
    client = upstreams.client(app, row.upstream)
    error = (
        delete_video(client, video_id, row.reason, RETRY_DEADLINE_SECONDS)
        if client is not None
        else f"the {row.upstream} upstream is no longer configured"
    )
    row.attempts += 1
    if error is None:
        row.state, row.done_at, row.last_error = "done", now, None
        log.info("event=external_delete_retried job=%s video_id=%s", row.job_id, video_id)
    elif now - row.created_at >= GIVE_UP_SECONDS:
        row.state, row.last_error = "failed", error
        log.error("event=external_delete_given_up job=%s video_id=%s", row.job_id, video_id)
    else:
        row.last_error, row.next_at = error, now + _delay(row.attempts)
    db.session.commit()
    store.touch(row.job_id)
    return int(error is None)
