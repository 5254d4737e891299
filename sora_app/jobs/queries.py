"""Read-only queries the live streams need (the service's feed); writes stay in `store`.

Each starts a fresh transaction, so a long-lived stream never reads an old snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Row, bindparam, select

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


# The polled reads (jobs/read_cache.py): a few columns by index, in a fresh transaction, so
# a cached job is checked against the database on every read without loading the row. The
# statements are built once: building one costs more than SQLite takes to answer it.

_JOB_STAMP = select(Job.owner_id, Job.version, Job.updated_at).where(Job.id == bindparam("job_id"))
_LATEST_STAMP = (
    select(Job.id, Job.version, Job.updated_at)
    .where(Job.owner_id == bindparam("owner_id"))
    .order_by(Job.created_at.desc(), Job.id.desc())
    .limit(1)
)
_MEDIA_OWNER = {
    column.key: select(Job.owner_id).where(column == bindparam("name")).limit(1)
    for column in (Job.video_path, Job.thumbnail_path)
}


def job_stamp(job_id: str) -> Row[tuple[str | None, int, datetime]] | None:
    """(owner_id, version, updated_at) of one job by primary key, or None."""
    db.session.rollback()
    return db.session.connection().execute(_JOB_STAMP, {"job_id": job_id}).first()


def latest_stamp(owner_id: str) -> Row[tuple[str, int, datetime]] | None:
    """(id, version, updated_at) of the owner's newest job: one step on ix_jobs_owner_created."""
    db.session.rollback()
    return db.session.connection().execute(_LATEST_STAMP, {"owner_id": owner_id}).first()


def owns_media(filename: str, owner_id: str) -> bool:
    """Whether one of the owner's jobs produced this video or thumbnail file.

    One exact, indexed lookup per column (each Range request of a video asks): no ORM row.
    """
    db.session.rollback()
    connection = db.session.connection()
    for query in _MEDIA_OWNER.values():
        found = connection.execute(query, {"name": filename}).first()
        if found is not None:
            return found.owner_id == owner_id
    return False


def recent_jobs(owner_id: str | None, statuses: list[str] | None, limit: int) -> list[Job]:
    """The newest jobs of everyone (or of one owner), for operators' `flask jobs list`."""
    db.session.rollback()
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if owner_id is not None:
        query = query.where(Job.owner_id == owner_id)
    if statuses:
        query = query.where(Job.status.in_(statuses))
    return list(db.session.scalars(query))
