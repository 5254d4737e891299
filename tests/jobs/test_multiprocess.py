"""Several gunicorn worker processes share one job table: no job lost, none run twice."""

from __future__ import annotations

import requests

from sora_app import create_app
from sora_app.jobs import store
from sora_app.jobs.spec import JobSpec
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


def test_two_worker_processes_run_every_job_exactly_once(tmp_path):
    app = create_app(app_config(tmp_path))
    with app.app_context():  # left queued by "a previous run": must start on boot
        leftover = [
            store.create_job(
                JobSpec.model_validate({**FAST_JOB, "topic": f"old {i}"})
                .with_seed()
                .model_dump(mode="json")
            ).id
            for i in range(2)
        ]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(server_env(tmp_path, port, SORA_WEB_WORKERS="2"))
    try:
        wait_for_http(f"{base}/health")
        submitted = [
            requests.post(
                f"{base}/api/generate-video", json={**FAST_JOB, "topic": f"new {i}"}, timeout=5
            ).json()["job_id"]
            for i in range(2)
        ]
        results = [
            wait_for_job(lambda url: requests.get(base + url, timeout=5).json(), job_id)
            for job_id in leftover + submitted
        ]
    finally:
        stop_server(server)
    assert [r["status"] for r in results] == ["complete"] * 4, [
        (r["status"], r.get("error_code"), r.get("error")) for r in results
    ]
    assert [r["attempts"] for r in results] == [1] * 4, "a job was claimed more than once"
    videos = {r["video_path"] for r in results}
    assert len(videos) == 4
    for name in videos:
        assert (app.config["VIDEOS_DIR"] / name).stat().st_size > 10_000
