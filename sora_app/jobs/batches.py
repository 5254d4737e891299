"""Batches: make one, feed its items to the queue a few at a time, report and cancel it.

Fair share comes from the feeding, not from the queue's order: a person's batches never have
more than BATCH_PARALLEL jobs queued or running together, so a single video asked for
meanwhile waits behind at most that many per person, with every executor (threads or
Celery, whose broker is FIFO). Feeding runs when a batch is made and in every maintenance
pass; each step is a conditional UPDATE, so several feeders at once cannot submit an item
twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

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
DELETED = "deleted"
"""A submitted item whose video its owner deleted (or retention pruned) since."""


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
    try:
        feed(batch.id)
    except Exception:  # the batch is kept (the 202 stands); maintenance feeds it
        db.session.rollback()
        log.exception("batch feed failed batch=%s", batch.id)
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
    if item.job_id and item.claimed_at is None:
        return DELETED  # submitted, and its video deleted (or pruned) since
    return JobStatus.CANCELLED.value if batch.cancelled_at else "pending"


def view(batch: Batch) -> dict[str, Any]:
    """The batch as its caller follows it: counts, finished video ids, and every item."""
    db.session.rollback()  # a fresh read: jobs move on in other threads and processes
    batch = db.session.get(Batch, batch.id) or batch
    rows = [(item, job, _item_status(batch, item, job)) for item, job in _items(batch.id)]
    ended = ("completed", "failed", "cancelled", DELETED)
    count = {s: sum(1 for *_, st in rows if st == s) for s in ended}
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
        "deleted_videos": count[DELETED],
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
    waiting = [
        item.position for item, _job in _items(batch_id)
        if item.job_id is None and not item.error_code
    ]  # fmt: skip
    active = _active_for_owner(batch.owner_id)
    fed = 0
    for position in waiting[: max(0, parallel - active)]:
        outcome = _submit(batch, position)
        if outcome == "full":
            break
        fed += outcome == "submitted"
    return fed


def _active_for_owner(owner_id: str) -> int:
    """The owner's batch items queued, running or being submitted, over all their batches:
    the share is per person, so many batches at once do not take more of the queue."""
    mine = select(Batch.id).where(Batch.owner_id == owner_id)
    active = or_(Job.status.in_(ACTIVE), and_(Job.id.is_(None), BatchItem.claimed_at.is_not(None)))
    query = (
        select(func.count()).select_from(BatchItem)
        .outerjoin(Job, Job.id == BatchItem.job_id)
        .where(BatchItem.batch_id.in_(mine), BatchItem.job_id.is_not(None), active)
    )  # fmt: skip
    return int(db.session.scalar(query) or 0)


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
    db.session.execute(
        update(BatchItem)
        .where(BatchItem.batch_id == batch.id, BatchItem.position == position)
        .values(claimed_at=None)
    )  # fmt: skip
    db.session.commit()
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
    fed = []
    for batch_id in db.session.scalars(waiting).all():
        try:
            if feed(batch_id):
                fed.append(batch_id)
        except Exception:  # the next pass tries again; the other batches go on
            db.session.rollback()
            log.exception("batch feed failed batch=%s", batch_id)
    return fed
