"""Bulk: many videos in one request, followed and cancelled as one batch."""

from __future__ import annotations

from flask import Blueprint

from ..auth import current_owner
from ..content import bulk
from ..extensions import limiter
from ..jobs import batches
from ..ratelimits import accepted, caller, limit_from
from .docs import documented
from .schemas.library import Batch
from .schemas.requests import BulkRequest
from .validation import json_body

bp = Blueprint("bulk", __name__, url_prefix="/api/videos/bulk")


@bp.post("")
@documented(
    "Start many videos as one batch",
    {202: Batch},
    request=BulkRequest,
    errors={
        400: "VALIDATION_ERROR, UPSTREAM_NOT_CONFIGURED, WEBHOOK_URL_NOT_ALLOWED, SCRIPT_NOT_FOUND",
        429: "QUEUE_FULL, RATE_LIMITED",
    },
)
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def create_batch():
    """{"topics": [...], "script_ids": [...], ...shared job options} -> 202 and a batch id."""
    owner = current_owner()
    batch = batches.create(bulk.items(json_body(), owner), owner)
    return batches.view(batch), 202


@bp.get("/<batch_id>")
@documented("A batch's state", {200: Batch}, errors={404: "BATCH_NOT_FOUND"})
def get_batch(batch_id: str):
    return batches.view(batches.get(batch_id, current_owner()))


@bp.post("/<batch_id>/cancel")
@documented("Cancel a batch (finished videos stay)", {200: Batch}, errors={404: "BATCH_NOT_FOUND"})
def cancel_batch(batch_id: str):
    """Stops feeding the batch and cancels its running videos; finished videos stay."""
    return batches.cancel(batch_id, current_owner())
