"""flask commands: `flask --app sora_app init-db`, `flask --app sora_app generate TOPIC`.

Flask-Migrate adds `flask --app sora_app db …` (upgrade, downgrade, current, history).
"""

from __future__ import annotations

import json
import os
import socket
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db
from .models import LOCAL_USER_ID
from .schema import upgrade_schema


def register_commands(app: Flask) -> None:
    app.cli.add_command(jobs_cli)

    @app.cli.command("init-db")
    def init_db() -> None:
        """Migrate the schema to the newest revision (create_app already does; kept for
        explicit set-ups and scripts)."""
        revision = upgrade_schema()
        url = db.engine.url.render_as_string(hide_password=True)
        click.echo(f"database ready at revision {revision}: {url}")

    @app.cli.command("generate")
    @click.argument("topic")
    @click.option("--scenes", default=3, show_default=True)
    @click.option("--minutes", default=0.5, show_default=True)
    @click.option("--voice", default="espeak_male", show_default=True)
    def generate(topic: str, scenes: int, minutes: float, voice: str) -> None:
        """Render one video in this process (only this job, not the server's queue).

        It enters through the same door as a web submit (room, queue limit), as the local
        user, but is not dispatched: this process claims and runs it itself.
        """
        from .jobs import service, store
        from .jobs.runner import run_job
        from .jobs.spec import JobSpec

        spec = JobSpec(topic=topic, num_scenes=scenes, duration=minutes, voice_id=voice)
        job_id = service.submit(spec, LOCAL_USER_ID, dispatch=False).id
        prefix = f"{socket.gethostname()}:{os.getpid()}:"
        owner = f"{prefix}cli"
        if not store.claim(job_id, owner, float(app.config["JOB_LEASE_SECONDS"])):
            raise click.ClickException("a server picked the job up first; follow it there")
        stopping = threading.Event()
        worker = threading.Thread(target=run_job, args=(app, job_id, owner, stopping))
        worker.start()
        try:
            while worker.is_alive():
                job = service.get_for_owner(job_id, LOCAL_USER_ID)
                click.echo(f"\r{int(job.progress):3d}% {job.substatus[:60]:<60}", nl=False)
                worker.join(0.5)
        finally:  # Ctrl-C: stop the job and hand it back to the queue
            stopping.set()
            worker.join()
            store.release_leases(prefix)
        click.echo()
        job = service.get_for_owner(job_id, LOCAL_USER_ID)
        click.echo(json.dumps(job.to_progress_dict(), indent=2))


@click.group("jobs", cls=AppGroup)
def jobs_cli() -> None:
    """Job maintenance: `flask --app sora_app jobs reap|prune` (cron-friendly, idempotent)."""


@jobs_cli.command("reap")
def reap_jobs() -> None:
    """Re-queue jobs whose worker died (lease expired) and hand them to the executor."""
    from .jobs import maintenance
    from .jobs.executors import create_executor

    app = current_app._get_current_object()
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

    app = current_app._get_current_object()
    pruned = maintenance.prune(app, days=days)
    pieces = maintenance.prune_artefacts(app)
    click.echo(f"pruned={len(pruned)} artefacts_pruned={pieces}")
