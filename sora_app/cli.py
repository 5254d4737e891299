"""flask commands: `init-db`, `create-user`, `generate TOPIC`, `api-keys …`; the job
commands (`jobs …`, `cleanup`) are in cli_jobs.py. Run as `flask --app sora_app <command>`.

Flask-Migrate adds `flask --app sora_app db …` (upgrade, downgrade, current, history).
"""

from __future__ import annotations

import json
import os
import socket
import threading

import click
from flask import Flask
from flask.cli import AppGroup

from .extensions import db
from .models import LOCAL_USER_ID
from .schema import SCHEMA_BEFORE_KEY, revisions_between, upgrade_schema


def register_commands(app: Flask) -> None:
    from .cli_jobs import cleanup_cmd, jobs_cli

    app.cli.add_command(jobs_cli)
    app.cli.add_command(cleanup_cmd)
    app.cli.add_command(api_keys_cli)
    app.cli.add_command(create_user)

    @app.cli.command("init-db")
    def init_db() -> None:
        """Migrate the schema to the newest revision (create_app already does; kept for
        explicit set-ups and scripts)."""
        before = app.extensions.get(SCHEMA_BEFORE_KEY)  # where the start found the database
        revision = upgrade_schema()
        url = db.engine.url.render_as_string(hide_password=True)
        applied = revisions_between(before, revision)
        for name, doc in applied:
            click.echo(f"applied migration {name}: {doc}")
        if not applied:
            click.echo(f"no migrations to apply (already at {revision})")
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


@click.command("create-user")
@click.argument("username")
@click.option("--email", help="Optional; also works as the login name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
def create_user(username: str, email: str | None, password_stdin: bool) -> None:
    """Make an account (the same rules as POST /api/auth/register); prompts for the password."""
    from pydantic import ValidationError

    from . import auth
    from .api.auth import RegisterRequest
    from .errors import APIError

    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        body = RegisterRequest(username=username, email=email, password=password)
        user = auth.create_user(body.username, body.email, body.password)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise click.ClickException(f"{first['loc'][0]}: {first['msg']}") from None
    except APIError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created user {user.username} id={user.id}")


@click.group("api-keys", cls=AppGroup)
def api_keys_cli() -> None:
    """API keys for operators: `flask --app sora_app api-keys create|list|revoke`."""


def user_id(username: str) -> str:
    """A user's id by username or email; `local` is open mode's local user."""
    from sqlalchemy import or_, select

    from .extensions import db
    from .models import User

    if username == LOCAL_USER_ID:
        return LOCAL_USER_ID
    found = db.session.scalar(
        select(User.id).where(or_(User.username == username, User.email == username))
    )
    if found is None:
        raise click.ClickException(f"No user {username!r}.")
    return found


@api_keys_cli.command("create")
@click.option("--user", "username", required=True, help="Username or email (`local`: open mode).")
@click.option("--name", required=True, help="What the key is for.")
def create_api_key(username: str, name: str) -> None:
    """Print a new key once; only its hash is kept."""
    from . import api_keys

    key, raw = api_keys.create(user_id(username), name[:100])
    click.echo(f"id={key.id} prefix={key.prefix}")
    click.echo(raw)


@api_keys_cli.command("list")
@click.option("--user", "username", required=True, help="Username or email.")
def list_api_keys(username: str) -> None:
    from . import api_keys

    for key in api_keys.list_for(user_id(username)):
        used = key.last_used_at.isoformat() if key.last_used_at else "never"
        click.echo(f"{key.id}  {key.prefix}…  {key.name!r}  last used {used}")


@api_keys_cli.command("revoke")
@click.option("--user", "username", required=True, help="Username or email.")
@click.argument("key_id")
def revoke_api_key(username: str, key_id: str) -> None:
    from . import api_keys

    if not api_keys.revoke(user_id(username), key_id):
        raise click.ClickException(f"No live key {key_id} for {username!r}.")
    click.echo(f"revoked {key_id}")
