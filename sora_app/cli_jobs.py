"""Operators' job commands: `flask --app sora_app jobs list|show|retry|cancel|reap|prune`
and `flask --app sora_app cleanup` (disk retention, cron-friendly).

They act on any user's jobs through the same service as the API (jobs/service.py), owned by
the job's owner, so the rules (room, queue limit, cancel outcomes) stay written once.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from .errors import APIError
from .models import LOCAL_USER_ID, Job, JobStatus, iso_utc


@click.group("jobs", cls=AppGroup)
def jobs_cli() -> None:
    """Jobs of every user: list, show, retry, cancel; reap and prune (idempotent, for cron)."""


def _job(job_id: str) -> Job:
    from .jobs import store

    job = store.get_job(job_id)
    if job is None:
        raise click.ClickException(f"No job {job_id!r}.")
    return job


def _owner(job: Job) -> str:
    return job.owner_id or LOCAL_USER_ID


@jobs_cli.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice([s.value for s in JobStatus]), help="Repeatable.")  # fmt: skip
@click.option("--user", "username", help="Username or email (`local`: open mode's user).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def list_jobs(statuses: tuple[str, ...], username: str | None, limit: int) -> None:
    """The newest jobs, one a line: id, status, progress, owner, created, topic."""
    from .cli import user_id
    from .jobs import queries

    owner = user_id(username) if username else None
    for job in queries.recent_jobs(owner, list(statuses) or None, limit):
        topic = str(job.request.get("topic") or "")[:60]
        created = (iso_utc(job.created_at) or "")[:19]
        line = f"{job.id}  {job.status:<9} {int(job.progress):3d}%  {_owner(job):<12} {created}"
        click.echo(f"{line}  {topic}")


@jobs_cli.command("show")
@click.argument("job_id")
def show_job(job_id: str) -> None:
    """Everything about one job as JSON: its progress view, owner, lease, attempts, request."""
    job = _job(job_id)
    body = {
        **job.to_progress_dict(), "owner_id": job.owner_id, "engine": job.engine,
        "lease_owner": job.lease_owner, "lease_expires_at": job.lease_expires_at,
        "cancel_requested": job.cancel_requested, "stage_done": job.stage_done,
        "started_at": iso_utc(job.started_at), "finished_at": iso_utc(job.finished_at),
        "request": job.request,
    }  # fmt: skip
    click.echo(json.dumps(body, indent=2))


@jobs_cli.command("retry")
@click.argument("job_id")
def retry_job(job_id: str) -> None:
    """Queue a failed or cancelled job's request again as a new job of the same owner."""
    from .jobs import service
    from .jobs.executors import create_executor

    job = _job(job_id)
    try:
        new = service.retry(job.id, _owner(job))
    except APIError as exc:
        raise click.ClickException(exc.message) from None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("JOB_EXECUTOR") == "celery":  # thread servers pick queued jobs up
        create_executor(app).submit(new.id)
    click.echo(f"retried {job.id} as {new.id}")


@jobs_cli.command("cancel")
@click.argument("job_id")
def cancel_job(job_id: str) -> None:
    """Cancel a queued job at once, or ask a running one to stop (its worker stops it)."""
    from .jobs import service

    job = _job(job_id)
    try:
        outcome, _ = service.cancel(job.id, _owner(job))
    except APIError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{outcome} {job.id}")


@jobs_cli.command("reap")
def reap_jobs() -> None:
    """Re-queue jobs whose worker died (lease expired) and hand them to the executor."""
    from .jobs import maintenance
    from .jobs.executors import create_executor

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    report = maintenance.reap(app, create_executor(app))
    click.echo(
        f"requeued={len(report.requeued)} failed={len(report.failed)} "
        f"resubmitted={len(report.resubmitted)}"
    )


@jobs_cli.command("prune")
@click.option("--days", type=float, default=None, help="Override SORA_JOB_RETENTION_DAYS.")
def prune_jobs(days: float | None) -> None:
    """Delete finished jobs past the retention (a completed one only once its video is gone),
    and render pieces past theirs (SORA_ARTEFACT_RETENTION_DAYS, SORA_ARTEFACT_MAX_MB)."""
    from .jobs import maintenance

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pruned = maintenance.prune(app, days=days)
    pieces = maintenance.prune_artefacts(app)
    click.echo(f"pruned={len(pruned)} artefacts_pruned={pieces}")


@click.command("cleanup")
@click.option(
    "--older-than-days",
    type=click.FloatRange(min=0),
    help="Remove finished jobs that ended longer ago.",
)
@click.option(
    "--max-total-gb",
    type=click.FloatRange(min=0),
    help="Then remove the oldest finished until videos and work files fit.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would go.")
def cleanup_cmd(older_than_days: float | None, max_total_gb: float | None, dry_run: bool) -> None:
    """Free disk: finished jobs' videos, stills and work files (and rows), oldest first.

    Queued and running jobs are never touched. Render pieces (instance/artefacts) follow
    SORA_ARTEFACT_RETENTION_DAYS and SORA_ARTEFACT_MAX_MB as in `jobs prune`.
    """
    from .jobs import maintenance, retention

    if older_than_days is None and max_total_gb is None:
        raise click.UsageError("Give --older-than-days, --max-total-gb or both.")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    budget = int(max_total_gb * 1e9) if max_total_gb is not None else None
    chosen = retention.plan(app, older_than_days=older_than_days, max_total_bytes=budget)
    pieces, done = 0, {item.key for item in chosen.removals}
    if not dry_run:
        done = set(retention.apply(app, chosen))
        pieces = maintenance.prune_artefacts(app)
    verb = "would remove" if dry_run else "removed"
    for item in chosen.removals:
        if item.key in done:
            click.echo(f"{verb} {item.key}  {item.status:<9} ended {item.ended.isoformat()[:19]}"
                       f"  {_mb(item.size)}  ({item.reason})")  # fmt: skip
    click.echo(
        f"{'dry run: ' if dry_run else ''}{len(done)} removed, {_mb(chosen.freed)} "
        f"freed; total {_mb(chosen.total_before)} -> {_mb(chosen.total_after)} "
        f"({_mb(chosen.active_bytes)} of active jobs kept); artefacts_pruned={pieces}"
    )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
