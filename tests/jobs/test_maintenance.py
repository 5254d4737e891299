"""The periodic maintenance (reap + retention) with injected clocks, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs import maintenance, store
from sora_app.jobs.celery_executor import execute
from sora_app.models import Job, JobStatus
from tests.conftest import app_config, close_app
from tests.services import postgres_schema

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


class RecordingExecutor:
    """Stands in for any Executor: remembers what maintenance handed it."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, job_id: str) -> None:
        self.submitted.append(job_id)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_app(request, tmp_path: Path) -> Iterator:
    """The app on the embedded database and on PostgreSQL (skipped when it is not running)."""
    config = app_config(tmp_path)
    if request.param == "postgresql":
        with postgres_schema() as url:
            app = create_app({**config, "SQLALCHEMY_DATABASE_URI": url})
            yield app
            close_app(app)
        return
    app = create_app(config)
    yield app
    close_app(app)


def _job(app, status: JobStatus = JobStatus.QUEUED, **values) -> str:
    with app.app_context():
        job_id = store.create_job({"topic": "t"}).id
        db.session.execute(
            update(Job).where(Job.id == job_id).values(status=status.value, **values)
        )
        db.session.commit()
    return job_id


def _get(app, job_id: str) -> Job | None:
    with app.app_context():
        return store.get_job(job_id)


def test_expired_lease_is_requeued_and_resubmitted(db_app):
    with db_app.app_context():
        dead, alive = store.create_job({"topic": "a"}).id, store.create_job({"topic": "b"}).id
        assert store.claim(dead, "host:1:w0", lease_seconds=30)
        assert store.claim(alive, "host:2:w0", lease_seconds=300)
    executor = RecordingExecutor()
    report = maintenance.reap(db_app, executor, now=time.time() + 60)  # 30 s lease ran out
    assert report.requeued == [dead]
    assert executor.submitted == [dead]
    assert _get(db_app, dead).status == JobStatus.QUEUED.value
    assert _get(db_app, dead).lease_owner is None
    assert _get(db_app, alive).status == JobStatus.RUNNING.value, "a live lease was taken"


def test_job_out_of_attempts_fails_and_loses_its_work_files(db_app):
    job_id = _job(db_app, JobStatus.RUNNING, attempts=3, lease_owner="x", lease_expires_at=1.0)
    work = Path(db_app.config["WORK_DIR"]) / job_id
    work.mkdir(parents=True)
    (work / "script.json").write_text("{}")
    executor = RecordingExecutor()
    report = maintenance.reap(db_app, executor, now=100.0)
    assert report.failed == [job_id] and executor.submitted == []
    assert _get(db_app, job_id).error_code == "WORKER_LOST"
    assert not work.exists()


def test_long_queued_job_is_resubmitted_but_a_fresh_one_is_not(db_app):
    job_id = _job(db_app)
    created = _get(db_app, job_id).created_at.replace(tzinfo=UTC).timestamp()
    executor = RecordingExecutor()
    maintenance.reap(db_app, executor, now=created + 1)
    assert executor.submitted == []  # just submitted: its own message is on the way
    later = created + maintenance.stale_after(db_app) + 1
    assert maintenance.reap(db_app, executor, now=later).resubmitted == [job_id]


def test_retention_prunes_only_old_finished_jobs(db_app):
    old = NOW - timedelta(days=40)
    recent = NOW - timedelta(days=5)
    videos = Path(db_app.config["VIDEOS_DIR"])
    videos.mkdir(parents=True, exist_ok=True)
    (videos / "kept.mp4").write_bytes(b"video")
    (videos / "gone.jpg").write_bytes(b"thumb")
    jobs = {
        "old_failed": _job(db_app, JobStatus.FAILED, finished_at=old),
        "old_cancelled": _job(db_app, JobStatus.CANCELLED, finished_at=old),
        "old_video_gone": _job(
            db_app,
            JobStatus.COMPLETED,
            finished_at=old,
            video_path="gone.mp4",
            thumbnail_path="gone.jpg",
        ),
        "old_video_kept": _job(db_app, JobStatus.COMPLETED, finished_at=old, video_path="kept.mp4"),
        "recent_failed": _job(db_app, JobStatus.FAILED, finished_at=recent),
        "old_queued": _job(db_app, JobStatus.QUEUED, created_at=old),
        "old_running": _job(db_app, JobStatus.RUNNING, started_at=old),
    }
    leftover = Path(db_app.config["WORK_DIR"]) / jobs["old_failed"]
    leftover.mkdir(parents=True)

    assert maintenance.prune(db_app, now=NOW, days=0) == [], "0 days means keep forever"
    pruned = maintenance.prune(db_app, now=NOW, days=30)

    assert sorted(pruned) == sorted(
        jobs[k] for k in ("old_failed", "old_cancelled", "old_video_gone")
    )
    for name, job_id in jobs.items():
        assert (_get(db_app, job_id) is None) == (job_id in pruned), name
    assert not leftover.exists()
    assert not (videos / "gone.jpg").exists(), "the pruned job's orphaned thumbnail remained"
    assert (videos / "kept.mp4").exists(), "retention never deletes a video"
    assert maintenance.prune(db_app, now=NOW, days=30) == [], "a second run has nothing to do"


def test_retention_setting_is_used_by_the_maintenance_run(app):
    job_id = _job(app, JobStatus.FAILED, finished_at=NOW - timedelta(days=2))
    later = (NOW + timedelta(seconds=1)).timestamp()
    assert maintenance.run(app, RecordingExecutor(), now=later).pruned == []  # retention off
    app.config["JOB_RETENTION_DAYS"] = 1
    assert maintenance.run(app, RecordingExecutor(), now=later).pruned == [job_id]


def test_cli_reap_and_prune(app):
    _job(app, JobStatus.RUNNING, attempts=1, lease_owner="gone", lease_expires_at=1.0)
    _job(app, JobStatus.FAILED, finished_at=datetime.now(UTC) - timedelta(days=3))
    runner = app.test_cli_runner()
    out = runner.invoke(args=["jobs", "reap"])
    assert out.exit_code == 0, out.output
    assert "requeued=1" in out.output
    out = runner.invoke(args=["jobs", "prune", "--days", "2"])
    assert out.exit_code == 0 and "pruned=1" in out.output, out.output


class _Ran:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, app, job_id: str, owner: str, stopping=None) -> None:
        self.calls.append((job_id, owner))
        with app.app_context():
            store.complete(job_id, owner, "v.mp4", None, 1.0)


@pytest.fixture
def fake_run(monkeypatch) -> _Ran:
    ran = _Ran()
    monkeypatch.setattr("sora_app.jobs.celery_executor.run_job", ran)
    return ran


def test_task_runs_a_queued_job_once(app, fake_run):
    job_id = _job(app)
    assert execute(app, job_id, "w1", RecordingExecutor()) == "ran"
    assert execute(app, job_id, "w2", RecordingExecutor()) == "finished"  # redelivered later
    assert fake_run.calls == [(job_id, "w1")]


def test_redelivered_task_is_a_no_op_while_the_first_run_lives(app, fake_run):
    job_id = _job(app)
    with app.app_context():
        assert store.claim(job_id, "w1", lease_seconds=300)
    assert execute(app, job_id, "w2", RecordingExecutor()) == "busy"
    assert fake_run.calls == []
    assert _get(app, job_id).lease_owner == "w1"


def test_redelivered_task_resumes_a_job_whose_worker_died(app, fake_run):
    job_id = _job(app)
    with app.app_context():
        assert store.claim(job_id, "w1", lease_seconds=-1)  # its lease has already run out
    assert execute(app, job_id, "w2", RecordingExecutor()) == "ran"
    assert fake_run.calls == [(job_id, "w2")]
    job = _get(app, job_id)
    assert job.status == JobStatus.COMPLETED.value and job.attempts == 2


def test_task_for_a_deleted_job_does_nothing(app, fake_run):
    assert execute(app, "0" * 32, "w1", None) == "missing"
    assert fake_run.calls == []
