"""Operators' flask commands run as processes on a test's database: init-db, create-user,
jobs list/show/retry/cancel, cleanup (by age and by total size; no renders, no sleeps)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import update

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs import retention, store
from sora_app.jobs.spec import JobSpec
from sora_app.models import Job
from tests.conftest import FAST_JOB, ROOT, app_config, close_app, server_env

FLASK = str(Path(sys.executable).parent / "flask")
NOW = datetime.now(UTC)


def flask(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = server_env(tmp_path, 0, SORA_SECRET_KEY="k" * 40)
    return subprocess.run(
        [FLASK, "--app", "sora_app", *args], input=stdin,
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def finished_job(owner: str, status: str, ended: datetime, video: int = 0, work: int = 0) -> str:
    """A job that ended at `ended`, with a `video`-byte video and `work` bytes of work files."""
    spec = JobSpec.model_validate(FAST_JOB).with_seed().model_dump(mode="json")
    job = store.create_job(spec, owner_id=owner)
    assert store.claim(job.id, "test", 30)
    config = current_app.config
    if work:
        work_dir = Path(config["WORK_DIR"]) / job.id
        work_dir.mkdir(parents=True)
        (work_dir / "narration.wav").write_bytes(b"w" * work)
    if status == "completed":
        name = f"video_{job.id}.mp4"
        (Path(config["VIDEOS_DIR"]) / name).write_bytes(b"v" * video)
        store.complete(job.id, "test", name, None, 9.0)
    elif status == "failed":
        store.fail(job.id, "test", "BOOM", "it broke")
    else:
        return job.id  # still running
    db.session.execute(update(Job).where(Job.id == job.id).values(finished_at=ended))
    db.session.commit()
    return job.id


def test_init_db_reports_migrations_and_create_user_can_log_in(tmp_path: Path):
    fresh = flask(tmp_path, "init-db")
    assert fresh.returncode == 0, fresh.stderr
    assert "applied migration 0001_baseline" in fresh.stdout
    assert "database ready at revision" in fresh.stdout
    assert "no migrations to apply" in flask(tmp_path, "init-db").stdout

    made = flask(tmp_path, "create-user", "dana", "--email", "dana@example.com",
                 "--password-stdin", stdin="correct horse battery\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created user dana id=")
    again = flask(tmp_path, "create-user", "dana", "--password-stdin", stdin="another password\n")
    assert again.returncode != 0 and "already registered" in again.stderr
    short = flask(tmp_path, "create-user", "erin", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "password" in short.stderr

    app = create_app({**app_config(tmp_path), "SECRET_KEY": "k" * 40})
    try:
        body = {"username": "dana@example.com", "password": "correct horse battery"}
        assert app.test_client().post("/api/auth/login", json=body).status_code == 200
    finally:
        close_app(app)


def test_jobs_list_show_retry_and_cancel(tmp_path: Path):
    app = create_app(app_config(tmp_path))
    with app.app_context():
        from sora_app import auth

        owner = auth.create_user("frank", None, "correct horse battery").id
        failed = finished_job(owner, "failed", NOW)
        seed = store.get_job(failed).request["seed"]
    close_app(app)

    listed = flask(tmp_path, "jobs", "list", "--status", "failed", "--user", "frank")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[:2] == [failed, "failed"]
    assert flask(tmp_path, "jobs", "list", "--user", "local").stdout == ""
    shown = json.loads(flask(tmp_path, "jobs", "show", failed).stdout)
    assert shown["owner_id"] == owner and shown["error_code"] == "BOOM"

    retried = flask(tmp_path, "jobs", "retry", failed)
    assert retried.returncode == 0, retried.stderr
    new_id = retried.stdout.split()[-1]
    new = json.loads(flask(tmp_path, "jobs", "show", new_id).stdout)
    assert new["state"] == "queued" and new["owner_id"] == owner
    assert new["request"]["seed"] == seed and new["request"]["topic"] == FAST_JOB["topic"]
    assert flask(tmp_path, "jobs", "retry", new_id).returncode != 0  # queued: not retryable

    assert flask(tmp_path, "jobs", "cancel", new_id).stdout.strip() == f"cancelled {new_id}"
    finished = flask(tmp_path, "jobs", "cancel", new_id)
    assert finished.returncode != 0 and "already cancelled" in finished.stderr
    assert flask(tmp_path, "jobs", "show", "nope").returncode != 0


def test_cleanup_removes_by_age_then_by_size_and_keeps_the_rest(tmp_path: Path):
    app = create_app(app_config(tmp_path))
    videos, work = app.config["VIDEOS_DIR"], app.config["WORK_DIR"]
    with app.app_context():
        old = finished_job("local", "completed", NOW - timedelta(days=40), video=1000, work=500)
        old_failed = finished_job("local", "failed", NOW - timedelta(days=35), work=700)
        middle = finished_job("local", "completed", NOW - timedelta(days=10), video=3000)
        recent = finished_job("local", "completed", NOW - timedelta(days=1), video=2000)
        running = finished_job("local", "running", NOW, work=5000)
    stale_orphan, fresh_orphan = work / "gone-job-a", work / "gone-job-b"
    for folder in (stale_orphan, fresh_orphan):
        folder.mkdir()
        (folder / "piece.bin").write_bytes(b"o" * 100)
    past = (NOW - timedelta(days=60)).timestamp()
    for path in (stale_orphan / "piece.bin", stale_orphan):
        os.utime(path, (past, past))

    with app.app_context():  # an explicit clock: 100 days on, everything finished is old
        later = retention.plan(app, now=NOW + timedelta(days=100), older_than_days=30)
        assert {old, old_failed, middle, recent} <= {item.key for item in later.removals}
        assert running not in {item.key for item in later.removals}
    close_app(app)

    preview = flask(tmp_path, "cleanup", "--older-than-days", "30", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert f"would remove {old}" in preview.stdout and "dry run: 3 removed" in preview.stdout
    assert (videos / f"video_{old}.mp4").exists() and stale_orphan.exists()

    by_age = flask(tmp_path, "cleanup", "--older-than-days", "30")
    assert by_age.returncode == 0, by_age.stderr
    assert not (videos / f"video_{old}.mp4").exists() and not (work / old).exists()
    assert not (work / old_failed).exists() and not stale_orphan.exists()
    assert fresh_orphan.exists() and (videos / f"video_{middle}.mp4").exists()

    # 3000 + 2000 + 100 finished bytes and 5000 of the running job; 8 kB fits after `middle`
    by_size = flask(tmp_path, "cleanup", "--max-total-gb", "0.000008")
    assert by_size.returncode == 0, by_size.stderr
    assert not (videos / f"video_{middle}.mp4").exists()
    assert (videos / f"video_{recent}.mp4").exists() and (work / running).exists()
    assert fresh_orphan.exists()
    listed = flask(tmp_path, "jobs", "list").stdout
    assert recent in listed and running in listed
    assert old not in listed and middle not in listed and old_failed not in listed
