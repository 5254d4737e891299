"""Read-only queries the live streams need (the service's feed); writes stay in `store`.

Each starts a fresh transaction, so a long-lived stream never reads an old snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from ..extensions import db
from ..models import Job, JobStatus


def changed_since(owner_id: str, since_ms: int, job_id: str | None = None) -> list[Job]:
    """The owner's jobs whose `updated_at` is at or after `since_ms`, oldest change first."""
    db.session.rollback()
    cutoff = datetime.fromtimestamp(since_ms / 1000, UTC).replace(tzinfo=None)
    query = select(Job).where(Job.owner_id == owner_id, Job.updated_at >= cutoff)
    if job_id is not None:
        query = query.where(Job.id == job_id)
    return list(db.session.scalars(query.order_by(Job.updated_at, Job.id)))


def active_jobs(owner_id: str) -> list[Job]:
    """The owner's queued and running jobs, oldest first."""
    db.session.rollback()
    live = [JobStatus.QUEUED.value, JobStatus.RUNNING.value]
    query = select(Job).where(Job.owner_id == owner_id, Job.status.in_(live))
    return list(db.session.scalars(query.order_by(Job.created_at)))


def owned_jobs(owner_id: str, job_ids: set[str]) -> list[Job]:
    """Those of `job_ids` that exist and belong to the owner."""
    db.session.rollback()
    query = select(Job).where(Job.id.in_(sorted(job_ids)), Job.owner_id == owner_id)
    return list(db.session.scalars(query))
