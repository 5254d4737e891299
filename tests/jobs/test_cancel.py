"""Cancelling: queued jobs end at once, running ones stop mid-stage and leave nothing behind."""

from __future__ import annotations

import os
import time

import pytest

from sora_app.jobs import store
from tests.conftest import FAST_JOB, wait_for_job
from tests.procs import child_pids

LONG_JOB = {**FAST_JOB, "duration": 1.0, "num_scenes": 6}


def _wait_until(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_cancel_a_queued_job_is_immediate(client, app):
    job_id = client.post("/api/generate-video", json=FAST_JOB).get_json()["job_id"]
    response = client.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    with app.app_context():
        assert store.claim_next("late-worker", 30) is None, "a cancelled job must not start"


def test_cancel_of_a_finished_or_unknown_job(client, app):
    job_id = client.post("/api/generate-video", json=FAST_JOB).get_json()["job_id"]
    client.post(f"/api/jobs/{job_id}/cancel")
    again = client.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.get_json()["error"] == "JOB_FINISHED"
    assert client.post("/api/jobs/nope/cancel").status_code == 404


def _progress(client, job_id):
    return client.get(f"/api/progress/{job_id}").get_json()


@pytest.mark.parametrize("stage", ["images", "narration", "compile"])
def test_cancel_a_running_job_in_each_stage(running_app, stage):
    client = running_app.test_client()
    job_id = client.post("/api/generate-video", json=LONG_JOB).get_json()["job_id"]
    low = {"images": 25, "narration": 50, "compile": 76}[stage]
    _wait_until(lambda: _progress(client, job_id)["progress"] >= low, what=f"stage {stage}")
    response = client.post(f"/api/jobs/{job_id}/cancel")
    if response.status_code == 409:
        pytest.fail(f"the job finished before it could be cancelled in {stage}")
    assert response.status_code == 202
    body = wait_for_job(lambda url: client.get(url).get_json(), job_id, timeout=30)
    assert body["status"] == "cancelled", body
    assert body["error_code"] == "CANCELLED"
    videos = running_app.config["VIDEOS_DIR"]
    assert list(videos.iterdir()) == [], "no partial or final file may remain"
    assert not (running_app.config["WORK_DIR"] / job_id).exists()
    time.sleep(1.0)  # a stopped job must stay stopped (no flip back to running)
    assert _progress(client, job_id)["status"] == "cancelled"
    with running_app.app_context():
        assert store.get_job(job_id).lease_owner is None
    assert child_pids(os.getpid(), b"ffmpeg") == [], "ffmpeg must be killed, not left running"
