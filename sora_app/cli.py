"""flask commands: `flask --app sora_app init-db`, `flask --app sora_app generate TOPIC`.

Flask-Migrate adds `flask --app sora_app db …` (upgrade, downgrade, current, history).
"""

from __future__ import annotations

import json
import os
import socket
import threading

import click
from flask import Flask

from .extensions import db
from .schema import upgrade_schema


def register_commands(app: Flask) -> None:
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
        """Render one video in this process (only this job, not the server's queue)."""
        from .jobs import store
        from .jobs.runner import run_job
        from .jobs.spec import JobSpec

        spec = JobSpec(topic=topic, num_scenes=scenes, duration=minutes, voice_id=voice)
        job_id = store.create_job(spec.with_seed().model_dump(mode="json")).id
        prefix = f"{socket.gethostname()}:{os.getpid()}:"
        owner = f"{prefix}cli"
        if not store.claim(job_id, owner, float(app.config["JOB_LEASE_SECONDS"])):
            raise click.ClickException("a server picked the job up first; follow it there")
        stopping = threading.Event()
        worker = threading.Thread(target=run_job, args=(app, job_id, owner, stopping))
        worker.start()
        try:
            while worker.is_alive():
                job = store.get_job(job_id)
                click.echo(f"\r{int(job.progress):3d}% {job.substatus[:60]:<60}", nl=False)
                worker.join(0.5)
        finally:  # Ctrl-C: stop the job and hand it back to the queue
            stopping.set()
            worker.join()
            store.release_leases(prefix)
        click.echo()
        click.echo(json.dumps(store.get_job(job_id).to_progress_dict(), indent=2))
