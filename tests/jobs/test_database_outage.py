"""A read-only or full database: loops back off quietly, and no accepted job is lost.

Real SQLite on real filesystems (a read-only bind mount, a filled tmpfs; tests/mounts.py).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs import store
from sora_app.jobs.backoff import Backoff
from sora_app.jobs.executors import start_executor
from tests.conftest import FAST_JOB, app_config, close_app, wait_for_job
from tests.mounts import fill, read_only_view, set_writable, tmpfs


def _app(tmp: Path, database: Path):
    return create_app({**app_config(tmp), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in records if r.exc_info]


def test_backoff_doubles_up_to_its_cap_and_resets():
    backoff = Backoff("test", base=0.5, cap=3.0)
    error = sqlite3.OperationalError("attempt to write a readonly database")
    assert [backoff.failed(error) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.succeeded()
    assert backoff.failed(error) == 0.5


@pytest.mark.sqlite_only
def test_read_only_database_loops_back_off_with_one_line_each(tmp_path, caplog):
    data = tmp_path / "data"
    data.mkdir()
    writer = _app(tmp_path, data / "jobs.sqlite")
    with writer.app_context():
        job_id = store.create_job({**FAST_JOB, "seed": 1}).id
    keeper = sqlite3.connect(data / "jobs.sqlite")  # keeps the WAL files: reads still work
    caplog.set_level(logging.INFO)
    try:
        with read_only_view(data, tmp_path / "ro") as view:
            app = _app(tmp_path, view / "jobs.sqlite")
            failed: list[str] = []
            on_error = lambda ctx: failed.append(ctx.statement or "")  # noqa: E731
            event.listen(_engine(app), "handle_error", on_error)
            executor = start_executor(app)
            try:
                # Both loops (claim and reap) hit the read-only database again and again.
                _wait(lambda: sum("UPDATE" in s for s in failed) >= 6, "six failed writes")
                outage = list(caplog.records)
                set_writable(view)
                executor.wake()
                _wait(lambda: _status(writer, job_id) != "queued", "the job to be claimed")
            finally:
                close_app(app)
    finally:
        keeper.close()
        close_app(writer)
    assert _tracebacks(outage) == [], "a traceback per scan buries the one line that matters"
    warnings = [r.getMessage() for r in outage if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert all("event=database_unavailable" in w and "reason=read_only" in w for w in warnings)
    assert any("event=loop_recovered" in r.getMessage() for r in caplog.records)


def _engine(app):
    with app.app_context():
        return db.engine


def _status(app, job_id: str) -> str:
    with app.app_context():
        return store.get_job(job_id).status


@pytest.mark.sqlite_only
def test_database_disk_full_mid_job_loses_nothing(tmp_path, caplog):
    """The job pauses (no traceback storm), /health says why, and it completes once freed."""
    with tmpfs(tmp_path / "db", "8m") as folder:
        app = _app(tmp_path, folder / "jobs.sqlite")
        executor = start_executor(app)
        client = app.test_client()
        try:
            job_id = client.post("/api/generate-video", json=FAST_JOB).get_json()["job_id"]
            _wait(lambda: _stage_done(app, job_id) == "script", "the script stage")
            caplog.set_level(logging.INFO)
            filler = fill(folder)
            _wait(lambda: executor.busy_workers == 0, "the job to pause")
            health = client.get("/health").get_json()
            outage = list(caplog.records)
            filler.unlink()
            done = wait_for_job(lambda url: client.get(url).get_json(), job_id)
        finally:
            close_app(app)
    assert _tracebacks(outage) == []
    assert any("job paused: database unavailable" in r.getMessage() for r in outage)
    assert health["checks"]["database"]["reason"] == "disk_full", health
    assert done["status"] == "complete", done
    assert done["attempts"] == 2, "resumed once the lease ran out"


def _stage_done(app, job_id: str) -> str | None:
    with app.app_context():
        return store.get_job(job_id).stage_done
