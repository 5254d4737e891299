"""Temporary files never outlive their job: sweeps at start, cleanup when retries run out."""

from __future__ import annotations

import time

from sora_app.jobs import store
from sora_app.jobs.cleanup import sweep_orphans
from sora_app.jobs.executors import start_executor


def _partials(app, job_id: str) -> list:
    videos = app.config["VIDEOS_DIR"]
    files = [videos / f".{job_id}.1.part.mp4", videos / f".{job_id}.1.part.jpg"]
    for path in files:
        path.write_bytes(b"half a video")
    folder = videos / f".{job_id}.1.part.mp4.compile-abc"
    folder.mkdir()
    (folder / "subs.ass").write_text("x")
    return [*files, folder]


def test_sweep_keeps_running_jobs_partials_only(app):
    alive = _partials(app, "a" * 32)
    dead = _partials(app, "b" * 32)
    final = app.config["VIDEOS_DIR"] / "video_x.mp4"
    final.write_bytes(b"done")
    assert sweep_orphans(app.config["VIDEOS_DIR"], {"a" * 32}) == len(dead)
    assert all(p.exists() for p in alive) and not any(p.exists() for p in dead)
    assert final.exists()


def test_executor_start_sweeps_what_a_killed_server_left(app):
    leftovers = _partials(app, "c" * 32)
    start_executor(app)
    assert not any(p.exists() for p in leftovers)


def test_job_out_of_retries_loses_its_files(app):
    app.config.update(JOB_MAX_ATTEMPTS=1, JOB_LEASE_SECONDS=3.0)
    with app.app_context():
        job_id = store.create_job({"topic": "t"}).id
        assert store.claim(job_id, "dead-process:1:w0", 0.05)
    work = app.config["WORK_DIR"] / job_id
    work.mkdir(parents=True)
    (work / "script.json").write_text("{}")
    leftovers = _partials(app, job_id)
    time.sleep(0.1)  # the dead process's lease runs out
    start_executor(app)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with app.app_context():
            if store.get_job(job_id).status == "failed" and not work.exists():
                break
        time.sleep(0.05)
    with app.app_context():
        assert store.get_job(job_id).error_code == "WORKER_LOST"
    assert not work.exists() and not any(p.exists() for p in leftovers)
