"""The webhook outbox: rows written at submit, claimed and settled by conditional UPDATEs.

Like the job store, every state change is one statement conditioned on the state it expects,
so two processes never send one event at the same time: a claim takes a short lease on a
due row (attempts + 1), and only the lease holder may settle it.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from ..extensions import db
from ..models import FINAL_STATUSES, VIDEO_ID_PREFIX, Job, JobStatus, iso_utc, utcnow
from .webhook_tables import DELIVERED, FAILED, PENDING, WebhookDelivery

ORPHAN_SECONDS = 86400.0
"""A row whose job never existed or went before its event was made is dropped after this."""
FINALS = [status.value for status in FINAL_STATUSES]


def _write(stmt) -> int:
    """One statement in a fresh transaction, committed (no stale snapshot, no open lock)."""
    db.session.rollback()
    result = db.session.execute(stmt.execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


def prepare(job_id: str, owner_id: str, url: str) -> str:
    """The job's delivery row, written before the job itself so no accepted job lacks one."""
    delivery_id = f"msg_{uuid.uuid4().hex}"
    db.session.rollback()
    db.session.add(WebhookDelivery(id=delivery_id, job_id=job_id, owner_id=owner_id, url=url))
    db.session.commit()
    return delivery_id


def discard(job_id: str) -> None:
    """Drop the row of a job that was not admitted after all (queue full)."""
    _write(delete(WebhookDelivery).where(WebhookDelivery.job_id == job_id))


def for_job(job_id: str) -> WebhookDelivery | None:
    db.session.rollback()
    return db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id))


def _due(now: float):
    """Pending, not leased, its time come, and its event known (frozen, or the job ended)."""
    d = WebhookDelivery
    ended = select(Job.id).where(Job.id == d.job_id, Job.status.in_(FINALS)).exists()
    return (
        d.status == PENDING,
        or_(d.lease_expires_at.is_(None), d.lease_expires_at < now),
        or_(d.payload.is_not(None), ended),
    )


def due_ids(now: float, limit: int) -> list[str]:
    """The deliveries to attempt now, longest waiting first."""
    d = WebhookDelivery
    query = (
        select(d.id)
        .where(*_due(now), or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now))
        .order_by(func.coalesce(d.next_attempt_at, 0.0), d.id)
        .limit(limit)
    )
    db.session.rollback()
    return list(db.session.scalars(query))


def next_due_at(now: float) -> float | None:
    """When the next delivery this outbox knows of is due (None: nothing waits on a clock)."""
    query = select(func.min(func.coalesce(WebhookDelivery.next_attempt_at, 0.0))).where(*_due(now))
    db.session.rollback()
    found = db.session.scalar(query)
    return None if found is None else float(found)


def claim(delivery_id: str, owner: str, now: float, lease_seconds: float) -> bool:
    """Take the due row for one attempt; False if another sender has it or it is settled."""
    d = WebhookDelivery
    claimed = _write(
        update(d)
        .where(
            d.id == delivery_id,
            *_due(now),
            or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now),
        )
        .values(lease_owner=owner, lease_expires_at=now + lease_seconds, attempts=d.attempts + 1)
    )
    return claimed == 1


def freeze_event(delivery: WebhookDelivery) -> WebhookDelivery | None:
    """The body every attempt sends, made from the ended job at the first attempt.

    None when the job is gone before its event was made: nothing is left to tell.
    """
    if delivery.payload is not None:
        return delivery
    job = db.session.get(Job, delivery.job_id)
    if job is None or job.status not in FINALS:
        return None
    freeze_for(job)
    return db.session.get(WebhookDelivery, delivery.id)


def freeze_for(job: Job) -> None:
    """Make the ended job's event now, if not yet made (also just before the job is deleted)."""
    event_type, payload = event_of(job)
    d = WebhookDelivery
    _write(
        update(d)
        .where(d.job_id == job.id, d.payload.is_(None))
        .values(event_type=event_type, payload=payload)
    )


def event_of(job: Job) -> tuple[str, str]:
    """The event type and compact JSON body for an ended job (a cancel reads as failed)."""
    completed = job.status == JobStatus.COMPLETED.value
    data: dict[str, Any] = {
        "id": f"{VIDEO_ID_PREFIX}{job.id}",
        "job_id": job.id,
        "status": job.status,
    }
    if completed:
        data["video_url"] = f"/api/video/{job.video_path}"
        data["thumbnail_url"] = f"/api/video/{job.thumbnail_path}" if job.thumbnail_path else None
        data["duration"] = job.video_duration
    else:
        data["error"] = {"code": job.error_code, "message": job.error_message}
    body = {
        "type": "video.completed" if completed else "video.failed",
        "timestamp": iso_utc(job.finished_at or utcnow()),
        "data": data,
    }
    return body["type"], json.dumps(body, separators=(",", ":"))


def settle(
    delivery_id: str,
    owner: str,
    *,
    status: str,
    status_code: int | None,
    error: str | None,
    next_attempt_at: float | None = None,
) -> bool:
    """Record one attempt's outcome and release the lease; only the lease holder may."""
    d = WebhookDelivery
    values: dict[str, Any] = {
        "status": status,
        "last_status_code": status_code,
        "last_error": error[:500] if error else None,
        "next_attempt_at": next_attempt_at if status == PENDING else None,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if status == DELIVERED:
        values["delivered_at"] = utcnow()
    return _write(update(d).where(d.id == delivery_id, d.lease_owner == owner).values(values)) == 1


def drop_orphans(now: float | None = None) -> int:
    """Forget rows whose job is gone: settled ones, and ones whose event was never made."""
    d = WebhookDelivery
    now = time.time() if now is None else now
    job_exists = select(Job.id).where(Job.id == d.job_id).exists()
    cutoff = datetime.fromtimestamp(now - ORPHAN_SECONDS, UTC)
    stmt = delete(d).where(
        ~job_exists,
        or_(d.status.in_([DELIVERED, FAILED]), d.payload.is_(None)),
        d.created_at < cutoff,
    )
    return _write(stmt)


def view(delivery: WebhookDelivery) -> dict[str, Any]:
    """What a job's details show of its webhook (never the secret)."""
    return {
        "url": delivery.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "next_attempt_at": _iso_epoch(delivery.next_attempt_at),
        "delivered_at": iso_utc(delivery.delivered_at),
    }


def _iso_epoch(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()
