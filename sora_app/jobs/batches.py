"""Batches: make one, feed its items to the queue a few at a time, report and cancel it.

Fair share comes from the feeding, not from the queue's order: a batch never has more than
BATCH_PARALLEL jobs queued or running, so a single video asked for meanwhile waits behind
at most that many of each batch, with every executor (threads or Celery, whose broker is
FIFO). Feeding runs when a batch is made and in every maintenance pass; each step is a
conditional UPDATE, so several feeders at once cannot submit an item twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, select, update

from ..errors import APIError
from ..extensions import db
from ..models import Job, JobStatus, new_job_id, utcnow
from . import service
from .batch_tables import Batch, BatchItem
from .spec import JobSpec

log = logging.getLogger(__name__)

STUCK_CLAIM = timedelta(seconds=60)
"""An item claimed this long ago whose job never appeared lost its feeder mid-submit."""
FEED_BATCHES = 50
"""Batches looked at per maintenance pass."""
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class BatchNotFound(APIError):
    def __init__(self, batch_id: str) -> None:
        super().__init__(
            404, "BATCH_NOT_FOUND", f"No batch with id {batch_id[:64]!r}.", field="batch_id"
        )


def create(items: list[tuple[str, JobSpec]], owner_id: str) -> Batch:
    """A batch of (label, checked job request) items; the first ones are submitted at once."""
    batch = Batch(owner_id=owner_id, total=len(items))
    db.session.add(batch)
    db.session.flush()
    for position, (label, spec) in enumerate(items):
        body = json.dumps(spec.with_seed().model_dump(mode="json"))
        db.session.add(BatchItem(batch_id=batch.id, position=position, label=label[:200],
                                 request_json=body))  # fmt: skip
    db.session.commit()
    log.info("batch created batch=%s items=%d", batch.id, len(items))
    feed(batch.id)
    return batch


def get(batch_id: str, owner_id: str) -> Batch:
    batch = db.session.get(Batch, batch_id) if len(batch_id) <= 64 else None
    if batch is None or batch.owner_id != owner_id:
        raise BatchNotFound(batch_id)
    return batch


def _items(batch_id: str) -> list[tuple[BatchItem, Job | None]]:
    query = (
        select(BatchItem, Job).outerjoin(Job, Job.id == BatchItem.job_id)
        .where(BatchItem.batch_id == batch_id).order_by(BatchItem.position)
    )  # fmt: skip
    return [(item, job) for item, job in db.session.execute(query).all()]


def _item_status(batch: Batch, item: BatchItem, job: Job | None) -> str:
    if job is not None:
        return job.status
    if item.error_code:
        return JobStatus.FAILED.value
    return JobStatus.CANCELLED.value if batch.cancelled_at else "pending"


def view(batch: Batch) -> dict[str, Any]:
    """The batch as its caller follows it: counts, finished video ids, and every item."""
    db.session.rollback()  # a fresh read: jobs move on in other threads and processes
    batch = db.session.get(Batch, batch.id) or batch
    rows = [(item, job, _item_status(batch, item, job)) for item, job in _items(batch.id)]
    count = {s: sum(1 for *_, st in rows if st == s) for s in ("completed", "failed", "cancelled")}
    waiting = batch.total - sum(count.values())
    if waiting:
        status = "cancelling" if batch.cancelled_at else "processing"
    elif batch.cancelled_at:
        status = "cancelled"
    else:
        status = "completed" if count["completed"] else "failed"
    return {
        "batch_id": batch.id,
        "status": status,
        "total_videos": batch.total,
        "completed_videos": count["completed"],
        "failed_videos": count["failed"],
        "cancelled_videos": count["cancelled"],
        "pending_videos": waiting,
        "video_ids": [job.id for _item, job, st in rows if job is not None and st == "completed"],
        "items": [_item_view(item, job, st) for item, job, st in rows],
        "created_at": batch.created_at.isoformat(),
    }


def _item_view(item: BatchItem, job: Job | None, status: str) -> dict[str, Any]:
    view: dict[str, Any] = {"position": item.position, "label": item.label, "status": status,
                            "job_id": job.id if job else None}  # fmt: skip
    if job is not None and job.job_status in (JobStatus.FAILED, JobStatus.CANCELLED):
        view["error"] = {"code": job.error_code, "message": job.error_message}
    elif item.error_code:
        view["error"] = {"code": item.error_code, "message": item.error_message}
    return view


def cancel(batch_id: str, owner_id: str) -> dict[str, Any]:
    """Stop feeding and cancel what runs; finished videos stay."""
    batch = get(batch_id, owner_id)
    if batch.cancelled_at is None:
        batch.cancelled_at = utcnow()
        db.session.commit()
    for _item, job in _items(batch.id):
        if job is not None and job.status in ACTIVE:
            with contextlib.suppress(service.JobFinished):
                service.cancel(job.id, owner_id)
    return view(batch)


def feed(batch_id: str) -> int:
    """Submit waiting items while the batch has fewer than BATCH_PARALLEL active; how many."""
    db.session.rollback()
    batch = db.session.get(Batch, batch_id)
    if batch is None or batch.cancelled_at is not None:
        return 0
    _free_stuck_claims(batch_id)
    parallel = int(current_app.config["BATCH_PARALLEL"])
    rows = _items(batch_id)
    active = sum(1 for item, job in rows if item.job_id and (job is None or job.status in ACTIVE))
    waiting = [item.position for item, _job in rows if item.job_id is None and not item.error_code]
    fed = 0
    for position in waiting[: max(0, parallel - active)]:
        outcome = _submit(batch, position)
        if outcome == "full":
            break
        fed += outcome == "submitted"
    return fed


def _free_stuck_claims(batch_id: str) -> None:
    no_job = ~select(Job.id).where(Job.id == BatchItem.job_id).exists()
    db.session.execute(
        update(BatchItem)
        .where(BatchItem.batch_id == batch_id, BatchItem.job_id.is_not(None), no_job,
               BatchItem.claimed_at < utcnow() - STUCK_CLAIM)
        .values(job_id=None, claimed_at=None)
    )  # fmt: skip
    db.session.commit()


def _submit(batch: Batch, position: int) -> str:
    """Claim the item by naming its job, then submit it: "submitted", "full" or "skipped"."""
    job_id = new_job_id()
    where = and_(BatchItem.batch_id == batch.id, BatchItem.position == position,
                 BatchItem.job_id.is_(None), BatchItem.error_code.is_(None))  # fmt: skip
    claimed = db.session.execute(
        update(BatchItem).where(where).values(job_id=job_id, claimed_at=utcnow())
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return "skipped"  # another feeder got there first
    item = db.session.get(BatchItem, (batch.id, position))
    try:
        service.submit(JobSpec.model_validate(item.request), batch.owner_id, job_id=job_id)
    except service.QueueFull:
        _unclaim(batch.id, position)
        return "full"
    except APIError as exc:  # e.g. a picture it names was deleted: this item fails alone
        _unclaim(batch.id, position, exc.code, exc.message)
        return "skipped"
    log.info("batch item submitted batch=%s position=%d job=%s", batch.id, position, job_id)
    return "submitted"


def _unclaim(batch_id: str, position: int, code: str | None = None, message: str = "") -> None:
    db.session.rollback()
    db.session.execute(
        update(BatchItem)
        .where(BatchItem.batch_id == batch_id, BatchItem.position == position)
        .values(job_id=None, claimed_at=None, error_code=code, error_message=message or None)
    )  # fmt: skip
    db.session.commit()


def feed_all() -> list[str]:
    """Every batch with waiting items gets its turn (maintenance); the batches fed."""
    db.session.rollback()
    waiting = (
        select(BatchItem.batch_id).join(Batch, Batch.id == BatchItem.batch_id)
        .where(Batch.cancelled_at.is_(None), BatchItem.job_id.is_(None),
               BatchItem.error_code.is_(None))
        .group_by(BatchItem.batch_id).order_by(func.min(Batch.created_at))
        .limit(FEED_BATCHES)
    )  # fmt: skip
    return [batch_id for batch_id in db.session.scalars(waiting).all() if feed(batch_id)]
