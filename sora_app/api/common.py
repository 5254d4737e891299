"""JSON shaping several blueprints share: a job as contract 1 and contract 2 show it."""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..jobs import eta
from ..models import Job, to_task_dict


def progress_view(job: Job) -> dict[str, Any]:
    """Contract 1's progress view plus `eta_seconds` (the bar alone is a poor clock)."""
    return {**job.to_progress_dict(), "eta_seconds": eta.estimate(job, current_app.config)}


def task_view(job: Job) -> dict[str, Any]:
    """Contract 2's camelCase task view plus `etaSeconds`."""
    return {**to_task_dict(job), "etaSeconds": eta.estimate(job, current_app.config)}
