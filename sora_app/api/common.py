"""JSON shaping several blueprints share: a job as contract 1 and contract 2 show it."""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..jobs import eta, webhook_outbox
from ..models import Job, to_task_dict


def progress_view(job: Job) -> dict[str, Any]:
    """Contract 1's progress view plus `eta_seconds` (the bar alone is a poor clock)."""
    return {**job.to_progress_dict(), "eta_seconds": eta.estimate(job, current_app.config)}


def task_view(job: Job) -> dict[str, Any]:
    """Contract 2's camelCase task view plus `etaSeconds`."""
    return {**to_task_dict(job), "etaSeconds": eta.estimate(job, current_app.config)}


def with_webhook(body: dict[str, Any], job: Job) -> dict[str, Any]:
    """A job's details add its webhook's delivery state (read fresh; never the secret).

    Only the polled reads and answers show it: a delivery moves no job version, so the
    live streams, which send a job once per version, would show it stale.
    """
    if job.request.get("webhook_url"):
        delivery = webhook_outbox.for_job(job.id)
        body["webhook"] = webhook_outbox.view(delivery) if delivery is not None else None
    return body
