"""Bulk: many videos in one request, followed and cancelled as one batch."""

from __future__ import annotations

from flask import Blueprint

from ..auth import current_owner
from ..content import bulk
from ..extensions import limiter
from ..jobs import batches
from ..ratelimits import accepted, caller, limit_from
from .validation import json_body

bp = Blueprint("bulk", __name__, url_prefix="/api/videos/bulk")


@bp.post("")
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def create_batch():
    """{"topics": [...], "script_ids": [...], ...shared job options} -> 202 and a batch id."""
    owner = current_owner()
    batch = batches.create(bulk.items(json_body(), owner), owner)
    return batches.view(batch), 202


@bp.get("/<batch_id>")
def get_batch(batch_id: str):
    return batches.view(batches.get(batch_id, current_owner()))


@bp.post("/<batch_id>/cancel")
def cancel_batch(batch_id: str):
    """Stops feeding the batch and cancels its running videos; finished videos stay."""
    return batches.cancel(batch_id, current_owner())
