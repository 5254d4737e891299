"""flask commands: `flask --app sora_app init-db`, `... generate TOPIC`."""

from __future__ import annotations

import json
import time

import click
from flask import Flask

from .extensions import db


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables (create_app already does; kept for explicit set-ups)."""
        db.create_all()
        click.echo(f"database ready: {app.config['SQLALCHEMY_DATABASE_URI']}")

    @app.cli.command("generate")
    @click.argument("topic")
    @click.option("--scenes", default=3, show_default=True)
    @click.option("--minutes", default=0.5, show_default=True)
    @click.option("--voice", default="espeak_male", show_default=True)
    def generate(topic: str, scenes: int, minutes: float, voice: str) -> None:
        """Render one video in this process and print where it went."""
        from .jobs import store
        from .jobs.executors import start_executor
        from .jobs.spec import JobSpec

        spec = JobSpec(topic=topic, num_scenes=scenes, duration=minutes, voice_id=voice)
        job = store.create_job(spec.with_seed().model_dump(mode="json"))
        executor = start_executor(app)
        while True:
            current = store.get_job(job.id)
            click.echo(f"\r{int(current.progress):3d}% {current.substatus[:60]:<60}", nl=False)
            if current.status in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.5)
        executor.stop()
        click.echo()
        click.echo(json.dumps(current.to_progress_dict(), indent=2))
