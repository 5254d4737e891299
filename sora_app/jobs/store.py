"""State transitions of the job table, each one short conditional UPDATE.

Every write is a single statement in its own transaction, conditioned on the state it
expects (and on the lease owner for running jobs). That makes claims atomic across threads
and processes, on SQLite and PostgreSQL alike, and keeps no transaction open during media work.

Every real change (status, progress, substatus, details, result) also sets
`version = version + 1` in that same statement, and is published to the live streams
(jobs/events.py) right after its commit; lease renewals and stage bookkeeping change no
version, so they wake no stream.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sqlalchemy import and_, case, func, insert, literal, select, text, tuple_, update

from ..extensions import db
from ..models import FINAL_STATUSES, LOCAL_USER_ID, Job, JobStatus, new_job_id, utcnow
from . import events

log = logging.getLogger(__name__)

CLAIM_CANDIDATES = 5
"""How many queued rows one claim attempt looks at before giving up for this round."""


def _write(stmt) -> int:
    """Run one UPDATE in a fresh transaction (no stale read snapshot) and commit it."""
    db.session.rollback()
    result = db.session.execute(stmt.execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


BUMP = {"version": Job.version + 1}
"""A real change: the event id moves in the same UPDATE, so it is atomic on both databases."""


def _change(stmt) -> int:
    """`_write` for a statement that bumps the version: publish the changed rows after commit."""
    return len(_changed_ids(stmt))


def _changed_ids(stmt) -> list[str]:
    """`_change`, answering which jobs changed."""
    db.session.rollback()
    returning = stmt.returning(Job.id, Job.owner_id, Job.version)
    rows = db.session.execute(returning.execution_options(synchronize_session=False)).all()
    db.session.commit()
    events.publish_rows(rows)
    return [row[0] for row in rows]


def create_job(
    request: dict[str, Any], *, engine: str = "local", owner_id: str = LOCAL_USER_ID
) -> Job:
    """Insert and commit before answering: a job that got a 2xx is never lost."""
    job = Job(request_json=json.dumps(request), engine=engine, owner_id=owner_id)
    db.session.add(job)
    db.session.commit()
    events.publish_rows([(job.id, owner_id, 1)])  # the default of a new row
    log.info("job created job=%s engine=%s", job.id, engine)
    return job


ADMISSION_LOCK = 0x50_4A_0B_AD
"""PostgreSQL advisory lock key that serialises queue admissions (any constant int64)."""


def admit_job(
    request: dict[str, Any],
    limit: int,
    *,
    engine: str = "local",
    owner_id: str = LOCAL_USER_ID,
    job_id: str | None = None,
) -> Job | None:
    """Insert a queued job only while fewer than `limit` wait; None (nothing written) if full.

    Count and insert are one step, so concurrent submits cannot all pass the limit:
    `INSERT INTO jobs SELECT <row> WHERE (SELECT count(*) … queued) < :limit`, alone in a
    fresh transaction. SQLite takes its single write lock when that statement begins, before
    it reads the count, so the next admission waits (busy_timeout) and then counts this row.
    PostgreSQL's READ COMMITTED would let two such statements count the same snapshot, so
    there a transaction-scoped advisory lock is taken first, in its own statement: the
    INSERT's snapshot is then taken after the previous admission committed. Only admissions
    take it: no other write waits for it (a claim lowers the count; a re-queue brings back
    a job admitted before).
    """
    now, job_id = utcnow(), job_id or new_job_id()
    values = {
        "id": job_id, "status": JobStatus.QUEUED.value, "engine": engine, "owner_id": owner_id,
        "request_json": json.dumps(request), "created_at": now, "updated_at": now,
    }  # fmt: skip
    columns = Job.__table__.c
    waiting = (
        select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED.value)
        .correlate(None).scalar_subquery()
    )  # fmt: skip
    row = select(*(literal(v, columns[k].type) for k, v in values.items())).where(waiting < limit)
    db.session.rollback()  # the INSERT must open the transaction (SQLite: no stale snapshot)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMISSION_LOCK})
    admit = insert(Job.__table__).from_select(list(values), row)
    inserted = db.session.execute(admit.execution_options(preserve_rowcount=True)).rowcount
    db.session.commit()
    if inserted != 1:
        return None
    events.publish_rows([(job_id, owner_id, 1)])  # the server default of a new row
    log.info("job created job=%s engine=%s", job_id, engine)
    return db.session.get(Job, job_id)


def get_job(job_id: str) -> Job | None:
    db.session.rollback()
    return db.session.get(Job, job_id)


def latest_job(owner_id: str | None = None) -> Job | None:
    db.session.rollback()
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(1)
    if owner_id is not None:
        query = query.where(Job.owner_id == owner_id)
    return db.session.scalars(query).first()


def list_jobs(
    owner_id: str, statuses: list[str] | None, offset: int, limit: int
) -> tuple[list[Job], int]:
    """One page of the owner's jobs, newest first, and how many match in all."""
    db.session.rollback()
    where = [Job.owner_id == owner_id]
    if statuses:
        where.append(Job.status.in_(statuses))
    total = db.session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    page = db.session.scalars(
        select(Job).where(*where).order_by(Job.created_at.desc(), Job.id.desc())
        .offset(offset).limit(limit)
    ).all()  # fmt: skip
    return list(page), int(total)


def page_after(
    owner_id: str, after: str | None, limit: int, newest_first: bool
) -> list[Job] | None:
    """Up to `limit` of the owner's jobs after the job `after` in (created_at, id) order:
    a cursor that never skips or repeats a row while new jobs arrive (OpenAI's `after`).
    None when `after` is not one of the owner's jobs."""
    db.session.rollback()
    query = select(Job).where(Job.owner_id == owner_id)
    if after is not None:
        anchor = db.session.execute(
            select(Job.created_at, Job.id).where(Job.id == after, Job.owner_id == owner_id)
        ).first()
        if anchor is None:
            return None
        key, mark = tuple_(Job.created_at, Job.id), tuple_(*anchor)
        query = query.where(key < mark if newest_first else key > mark)
    order = (Job.created_at.desc(), Job.id.desc()) if newest_first else (Job.created_at, Job.id)
    return list(db.session.scalars(query.order_by(*order).limit(limit)))


def counts_by_status(owner_id: str) -> dict[str, int]:
    db.session.rollback()
    rows = db.session.execute(
        select(Job.status, func.count()).where(Job.owner_id == owner_id).group_by(Job.status)
    ).all()
    return {status: int(count) for status, count in rows}


def delete_job(job_id: str) -> bool:
    """Remove a finished job's row (its files are the caller's to remove first)."""
    db.session.rollback()
    job = db.session.get(Job, job_id)
    if job is None or job.job_status not in FINAL_STATUSES:
        return False
    owner_id = job.owner_id
    db.session.delete(job)
    db.session.commit()
    events.publish_rows([(job_id, owner_id, 0)])  # version 0: the row is gone
    return True


def probe_writable() -> None:
    """Take and drop the write lock with a no-op UPDATE; raises when the database can't write."""
    db.session.rollback()
    try:
        db.session.execute(text("UPDATE jobs SET id = id WHERE 1 = 0"))
        db.session.commit()
    finally:
        db.session.rollback()


def status_counts() -> dict[str, int]:
    """How many jobs of every user are in each status (statuses that occur)."""
    db.session.rollback()
    rows = db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    return {status: int(count) for status, count in rows}


def count_by_status(status: JobStatus) -> int:
    db.session.rollback()
    query = select(func.count()).select_from(Job).where(Job.status == status.value)
    return int(db.session.scalar(query) or 0)


def queue_position(job: Job) -> int:
    """1-based position among queued jobs (oldest first)."""
    query = (
        select(func.count())
        .select_from(Job)
        .where(Job.status == JobStatus.QUEUED.value, Job.created_at <= job.created_at)
    )
    return int(db.session.scalar(query) or 1)


def claim(job_id: str, owner: str, lease_seconds: float) -> bool:
    """Atomically move this queued job to running under `owner`'s lease."""
    claimed = _change(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
        .values(
            **BUMP,
            status=JobStatus.RUNNING.value,
            lease_owner=owner,
            lease_expires_at=time.time() + lease_seconds,
            attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, utcnow()),
        )
    )
    if claimed:
        log.info("job claimed job=%s owner=%s", job_id, owner)
    return claimed == 1


def claim_next(owner: str, lease_seconds: float) -> str | None:
    """Claim the oldest queued job another worker doesn't get first."""
    db.session.rollback()
    candidates = db.session.scalars(
        select(Job.id)
        .where(Job.status == JobStatus.QUEUED.value)
        .order_by(Job.created_at, Job.id)
        .limit(CLAIM_CANDIDATES)
    ).all()
    for job_id in candidates:
        if claim(job_id, owner, lease_seconds):
            return job_id
    return None


def _final(status: JobStatus, **values: Any) -> dict[str, Any]:
    """Values for any transition out of running: the lease is released, the end stamped."""
    return {
        **BUMP,
        "status": status.value,
        "lease_owner": None,
        "lease_expires_at": None,
        "finished_at": utcnow(),
        **values,
    }


def _owned(job_id: str, owner: str):
    return (
        Job.id == job_id,
        Job.status == JobStatus.RUNNING.value,
        Job.lease_owner == owner,
    )


def heartbeat(job_id: str, owner: str, lease_seconds: float) -> bool:
    """Renew the lease; False means the job is no longer ours (lease lost or finished)."""
    renewed = _write(
        update(Job)
        .where(*_owned(job_id, owner))
        .values(lease_expires_at=time.time() + lease_seconds)
    )
    return renewed == 1


def request_cancel(job_id: str) -> str:
    """Cancel a job: queued ones at once, running ones via a flag their runner polls.

    Returns "cancelled", "cancelling" or "finished" (nothing to cancel).
    """
    if _change(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
        .values(
            _final(
                JobStatus.CANCELLED,
                cancel_requested=True,
                error_code="CANCELLED",
                error_message="The job was cancelled.",
                substatus="Cancelled",
            )
        )
    ):
        return "cancelled"
    if _change(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value)
        .values(**BUMP, cancel_requested=True, substatus="Cancelling")
    ):
        return "cancelling"
    return "finished"


def is_cancel_requested(job_id: str) -> bool:
    db.session.rollback()
    return bool(db.session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def report_progress(job_id: str, owner: str, progress: float, substatus: str, details: str) -> bool:
    """Record progress; it never moves backwards, even if callers race.

    A write that repeats the stored values moves no version (SET reads the old row).
    """
    substatus = substatus[:200]
    same = and_(Job.progress == progress, Job.substatus == substatus, Job.details == details)
    bump = case((same, Job.version), else_=Job.version + 1)
    values = {"progress": progress, "substatus": substatus, "details": details, "version": bump}
    stmt = update(Job).where(*_owned(job_id, owner), Job.progress <= progress).values(values)
    return _change(stmt) == 1


def set_external_id(job_id: str, owner: str, external_video_id: str) -> None:
    """Store the upstream's id right after creation, so a resumed job polls it again."""
    _change(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner)
        .values(**BUMP, external_video_id=external_video_id, engine="sora")
    )


def touch(job_id: str) -> None:
    """A change its views show that lives beside the row (e.g. its upstream DELETE)."""
    _change(update(Job).where(Job.id == job_id).values(**BUMP))


def mark_stage_done(job_id: str, owner: str, stage: str) -> None:
    _write(update(Job).where(*_owned(job_id, owner)).values(stage_done=stage))


def complete(
    job_id: str, owner: str, video_path: str, thumbnail_path: str | None, duration: float
) -> bool:
    done = _change(
        update(Job)
        .where(*_owned(job_id, owner))
        .values(
            _final(
                JobStatus.COMPLETED,
                progress=100.0,
                substatus="Video ready for download",
                video_path=video_path,
                thumbnail_path=thumbnail_path,
                video_duration=duration,
                stage_done="compile",
            )
        )
    )
    return done == 1


def fail(job_id: str, owner: str, code: str, message: str) -> None:
    _change(
        update(Job)
        .where(*_owned(job_id, owner))
        .values(
            _final(JobStatus.FAILED, error_code=code, error_message=message, substatus="Failed")
        )
    )
    log.warning("job failed job=%s code=%s message=%s", job_id, code, message)


def mark_cancelled(job_id: str, owner: str) -> None:
    _change(
        update(Job)
        .where(*_owned(job_id, owner))
        .values(
            _final(
                JobStatus.CANCELLED,
                error_code="CANCELLED",
                error_message="The job was cancelled.",
                substatus="Cancelled",
            )
        )
    )


def running_job_ids() -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(select(Job.id).where(Job.status == JobStatus.RUNNING.value)))


def recover_expired(max_attempts: int, now: float | None = None) -> tuple[int, list[str]]:
    """Re-queue running jobs whose worker died (lease expired); fail those out of retries.

    Returns how many were re-queued and the ids of those that failed for good.
    """
    now = time.time() if now is None else now
    expired = (
        Job.status == JobStatus.RUNNING.value,
        Job.lease_expires_at.is_not(None),
        Job.lease_expires_at < now,
    )
    db.session.rollback()
    out_of_tries = list(
        db.session.scalars(select(Job.id).where(*expired, Job.attempts >= max_attempts))
    )
    failed = [
        job_id
        for job_id in out_of_tries
        if _change(
            update(Job)
            .where(Job.id == job_id, *expired)
            .values(
                _final(
                    JobStatus.FAILED,
                    error_code="WORKER_LOST",
                    error_message=f"The worker running this job stopped {max_attempts} times.",
                    substatus="Failed",
                )
            )
        )
    ]
    requeued = _change(
        update(Job)
        .where(*expired, Job.attempts < max_attempts)
        .values(
            **BUMP,
            status=JobStatus.QUEUED.value,
            substatus="Re-queued after a worker stopped; resuming",
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    if requeued or failed:
        log.warning("expired leases requeued=%s failed=%s", requeued, len(failed))
    return requeued, failed


def release_leases(
    owner_prefix: str,
    *,
    refund_attempt: bool = True,
    substatus: str = "Re-queued: the server restarted; resuming",
) -> list[str]:
    """Give back the running jobs of a process that is shutting down cleanly; their ids.

    They are re-queued at once (not after their lease runs out), and the attempt is not
    counted: a deploy or restart is not the job's fault. `refund_attempt=False` when a job
    did not stop in time: the attempt number names its temp files, and the next attempt's
    must differ from the ones this dying process may still touch (and when a process died
    without a word, the job may be what killed it).
    """
    released = _changed_ids(
        update(Job)
        .where(Job.status == JobStatus.RUNNING.value, Job.lease_owner.startswith(owner_prefix))
        .values(
            **BUMP,
            status=JobStatus.QUEUED.value,
            substatus=substatus,
            lease_owner=None,
            lease_expires_at=None,
            attempts=Job.attempts - 1 if refund_attempt else Job.attempts,
        )
    )
    if released:
        log.info(
            "leases released owner=%s jobs=%s refunded=%s",
            owner_prefix, len(released), refund_attempt,
        )  # fmt: skip
    return released
