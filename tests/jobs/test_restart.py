"""Kill the server mid-job: the job resumes in a new process from its last finished stage."""

from __future__ import annotations

import signal
import time

import requests

from sora_app.jobs import store
from tests.conftest import (
    FAST_JOB,
    app_config,
    free_port,
    server_env,
    start_server,
    stop_server,
    wait_for_http,
    wait_for_job,
)

SLOWER_JOB = {**FAST_JOB, "duration": 0.4, "num_scenes": 4}


def _wait_for_stage(app, job_id: str, stages: tuple[str, ...], timeout: float = 60) -> None:
    """Wait until the last finished stage is one of `stages` (or the job ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            job = store.get_job(job_id)
        if job.stage_done in stages or job.status not in ("running", "queued"):
            return
        time.sleep(0.05)
    raise AssertionError(f"job never reached {stages}")


def test_killed_server_job_resumes_without_redoing_finished_stages(tmp_path):
    from sora_app import create_app

    app = create_app(app_config(tmp_path))  # same folders and database as the servers
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(tmp_path, port, SORA_KEEP_WORK_DIRS="1")  # to inspect the stage files
    first = start_server(env)
    try:
        wait_for_http(f"{base}/health")
        job_id = requests.post(f"{base}/api/generate-video", json=SLOWER_JOB, timeout=5).json()[
            "job_id"
        ]
        _wait_for_stage(app, job_id, ("images", "narration"))
    finally:
        stop_server(first, sig=signal.SIGKILL)
    with app.app_context():
        killed = store.get_job(job_id)
    assert killed.status == "running", "the job should have been mid-flight when killed"
    work = app.config["WORK_DIR"] / job_id
    finished = [work / "script.json", *sorted(work.glob("scene_*.jpg"))]
    stamps = {p.name: p.stat().st_mtime_ns for p in finished}
    assert len(stamps) == 1 + SLOWER_JOB["num_scenes"]

    second = start_server(env)
    try:
        wait_for_http(f"{base}/health")
        done = wait_for_job(lambda url: requests.get(base + url, timeout=5).json(), job_id)
    finally:
        stop_server(second)
    assert done["status"] == "complete", done
    assert done["attempts"] == 2
    assert not list(app.config["VIDEOS_DIR"].glob(".*")), "the killed attempt's partial remained"
    assert "resuming after stage" in done["details"]
    for name, mtime in stamps.items():
        assert (work / name).stat().st_mtime_ns == mtime, f"{name} was redone"
    assert (app.config["VIDEOS_DIR"] / done["video_path"]).stat().st_size > 10_000


def test_clean_shutdown_requeues_the_running_job_at_once(tmp_path):
    from sora_app import create_app

    app = create_app(app_config(tmp_path))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = start_server(server_env(tmp_path, port, SORA_JOB_LEASE_SECONDS="600"))
    try:
        wait_for_http(f"{base}/health")
        job_id = requests.post(f"{base}/api/generate-video", json=SLOWER_JOB, timeout=5).json()[
            "job_id"
        ]
        _wait_for_stage(app, job_id, ("script", "images", "narration"))
    finally:
        stop_server(first, sig=signal.SIGTERM)
    with app.app_context():
        released = store.get_job(job_id)
    assert released.status == "queued", "a clean stop should hand the job back, not hold it"
    assert released.lease_owner is None and released.attempts == 0

    # The lease was 600 s: only the release lets the next server pick the job up now.
    second = start_server(server_env(tmp_path, port, SORA_JOB_LEASE_SECONDS="600"))
    try:
        wait_for_http(f"{base}/health")
        done = wait_for_job(lambda url: requests.get(base + url, timeout=5).json(), job_id)
    finally:
        stop_server(second)
    assert done["status"] == "complete" and done["attempts"] == 1
