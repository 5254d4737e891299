"""JSON shaping several blueprints share: a job as contract 1 and contract 2 show it."""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..jobs import eta, upstream_deletes, webhook_outbox
from ..models import Job, JobStatus, to_task_dict


def progress_view(job: Job) -> dict[str, Any]:
    """Contract 1's progress view plus `eta_seconds` (the bar alone is a poor clock)."""
    eta_seconds = eta.estimate(job, current_app.config)
    return {**job.to_progress_dict(), "eta_seconds": eta_seconds, **side_work(job)}


def task_view(job: Job) -> dict[str, Any]:
    """Contract 2's camelCase task view plus `etaSeconds`."""
    eta_seconds = eta.estimate(job, current_app.config)
    return {**to_task_dict(job), "etaSeconds": eta_seconds, **side_work(job, camel=True)}


def side_work(job: Job, *, camel: bool = False) -> dict[str, Any]:
    """Work a finished job left behind, e.g. an upstream DELETE still being retried."""
    stopped = job.status in (JobStatus.CANCELLED, JobStatus.FAILED)
    report = upstream_deletes.report(job.id) if stopped and job.external_video_id else None
    if not report:
        return {}
    if camel:
        return {"externalDelete": {_camel(key): value for key, value in report.items()}}
    return {"external_delete": report}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def with_webhook(body: dict[str, Any], job: Job) -> dict[str, Any]:
    """A job's details add its webhook's delivery state (read fresh; never the secret).

    Only the polled reads and answers show it: a delivery moves no job version, so the
    live streams, which send a job once per version, would show it stale.
    """
    if job.request.get("webhook_url"):
        delivery = webhook_outbox.for_job(job.id)
        body["webhook"] = webhook_outbox.view(delivery) if delivery is not None else None
    return body
