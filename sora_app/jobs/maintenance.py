"""Periodic job maintenance: re-queue jobs whose worker died, prune old finished ones.

One function for every caller: the thread executor's own loop (embedded default), Celery
beat (distributed), and `flask --app sora_app jobs reap|prune` (operators, cron). Each step
is a few conditional statements, so several callers at once only repeat harmless work.
Clocks are parameters, so tests move time instead of waiting for it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import FINAL_STATUSES, Job, JobStatus
from ..storage import storage_for
from . import store, upstream_deletes, webhook_dispatch, webhook_outbox
from .executors import Executor

log = logging.getLogger(__name__)

RESUBMIT_LIMIT = 20
"""At most this many long-queued jobs are re-submitted per run (the oldest first)."""

PRUNE_BATCH = 500
"""Rows read per query while pruning, so no query holds the table for long."""

PRUNE_EVERY_SECONDS = 3600.0
"""How often the periodic callers prune: it looks at every old completed job's video file."""


@dataclass
class Report:
    """What one maintenance run did, by job id (for the CLI, logs and tests)."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resubmitted: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    fed: list[str] = field(default_factory=list)
    """Batches that had items submitted (jobs.batches: the safety net behind each feed)."""
    deletes_retried: int = 0
    """Upstream DELETEs that failed before and went through in this run."""
    webhooks: list[str] = field(default_factory=list)
    """Webhook deliveries attempted by this pass (when no sender thread does it)."""


def stale_after(app: Flask) -> float:
    """A job queued this long was probably never delivered (broker down at submit time)."""
    return max(4 * float(app.config["JOB_LEASE_SECONDS"]), 2 * _interval(app))


def _interval(app: Flask) -> float:
    return float(app.config["JOB_MAINTENANCE_SECONDS"])


def reap(app: Flask, executor: Executor | None, now: float | None = None) -> Report:
    """Re-queue running jobs whose lease expired and hand them (and lost submits) to workers.

    Jobs out of attempts fail for good and their temporary files go. Re-queued jobs resume
    from their last finished stage on whichever worker claims them.
    """
    now = time.time() if now is None else now
    report = Report()
    with app.app_context():
        expired = _expired_ids(now)
        _requeued, report.failed = store.recover_expired(int(app.config["JOB_MAX_ATTEMPTS"]), now)
        report.requeued = [i for i in expired if i not in report.failed and _queued(i)]
        stale = _long_queued_ids(now - stale_after(app))
    storage = storage_for(app.config)
    for job_id in report.failed:
        storage.remove_job_files(job_id)
    if executor is not None:
        report.resubmitted = list(dict.fromkeys(report.requeued + stale))
        for job_id in report.resubmitted:
            executor.submit(job_id)
    return report


def prune(app: Flask, now: datetime | None = None, days: float | None = None) -> list[str]:
    """Delete finished jobs older than SORA_JOB_RETENTION_DAYS (0 = keep forever).

    Failed and cancelled jobs go with any leftover work files. A completed job goes only
    once its video file is gone (deleted by hand or by an operator's own policy): its row is
    what lets the owner list and download the video, so retention never deletes videos.
    """
    days = float(app.config["JOB_RETENTION_DAYS"]) if days is None else days
    if days <= 0:
        return []
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    storage = storage_for(app.config)
    pruned: list[str] = []
    after: tuple[datetime, str] | None = None
    with app.app_context():
        while rows := _finished_before(cutoff, after):
            after = (rows[-1][4], rows[-1][0])
            for job_id, status, video, thumbnail, _finished in rows:
                kept = status == JobStatus.COMPLETED.value and video
                if kept and storage.media_path(video).exists():
                    continue  # the owner's video: kept, and its row with it
                storage.remove_job_files(job_id)
                if thumbnail:
                    storage.remove_media(thumbnail)
                if store.delete_job(job_id):
                    pruned.append(job_id)
    if pruned:
        log.info("event=jobs_pruned count=%s older_than_days=%g", len(pruned), days)
    return pruned


def run(
    app: Flask, executor: Executor | None, now: float | None = None, *, with_prune: bool = True
) -> Report:
    """One maintenance pass: reap, feed batches, retry upstream DELETEs, send due webhooks,
    then (unless told not to) prune."""
    from .batches import feed_all  # batches submit through the service, which needs executors

    report = reap(app, executor, now)
    with app.app_context():
        report.fed = feed_all()
        report.deletes_retried = upstream_deletes.retry_due(app, now)
    report.webhooks = webhook_dispatch.maintain(app, now)
    if with_prune:
        wall = datetime.fromtimestamp(now, UTC) if now is not None else None
        report.pruned = prune(app, wall)
        prune_artefacts(app, now)
        with app.app_context():
            webhook_outbox.drop_orphans(now)
    return report


def prune_artefacts(app: Flask, now: float | None = None) -> int:
    """Drop render pieces unused for SORA_ARTEFACT_RETENTION_DAYS, then the least recently
    used beyond SORA_ARTEFACT_MAX_MB; a later render simply makes them again."""
    days = float(app.config["ARTEFACT_RETENTION_DAYS"])
    limit_mb = int(app.config["ARTEFACT_MAX_MB"])
    store = storage_for(app.config).artefacts
    return store.prune(days * 86400, limit_mb * 1024 * 1024 if limit_mb else None, now)


def _expired_ids(now: float) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Job.id).where(
                Job.status == JobStatus.RUNNING.value,
                Job.lease_expires_at.is_not(None),
                Job.lease_expires_at < now,
            )
        )
    )


def _queued(job_id: str) -> bool:
    job = store.get_job(job_id)
    return job is not None and job.status == JobStatus.QUEUED.value


def _long_queued_ids(before: float) -> list[str]:
    """Queued since before `before` (epoch seconds): their submit may never have arrived."""
    db.session.rollback()
    cutoff = datetime.fromtimestamp(before, UTC)
    query = (
        select(Job.id)
        .where(Job.status == JobStatus.QUEUED.value, Job.created_at < cutoff)
        .order_by(Job.created_at, Job.id)
        .limit(RESUBMIT_LIMIT)
    )
    return list(db.session.scalars(query))


def _finished_before(
    cutoff: datetime, after: tuple[datetime, str] | None
) -> list[tuple[str, str, str | None, str | None, datetime]]:
    """The next batch of finished jobs older than `cutoff`, after the (finished_at, id) given."""
    db.session.rollback()
    finals = [status.value for status in FINAL_STATUSES]
    query = select(Job.id, Job.status, Job.video_path, Job.thumbnail_path, Job.finished_at).where(
        Job.status.in_(finals), Job.finished_at.is_not(None), Job.finished_at < cutoff
    )
    if after is not None:
        query = query.where(
            or_(Job.finished_at > after[0], and_(Job.finished_at == after[0], Job.id > after[1]))
        )
    query = query.order_by(Job.finished_at, Job.id).limit(PRUNE_BATCH)
    return [tuple(row) for row in db.session.execute(query)]
