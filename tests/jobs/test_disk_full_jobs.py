"""A job that runs out of disk fails with DISK_FULL and says where, not "failed unexpectedly".

Real jobs on a real, tiny tmpfs (see tests/mounts.py), so the ENOSPC comes from the kernel:
through Python for the work folder, through ffmpeg's stderr for the videos folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs.executors import start_executor
from tests.conftest import FAST_JOB, app_config, wait_for_job
from tests.mounts import tmpfs


def _run_one_job(tmp: Path, **folders: Path) -> dict:
    """Submit FAST_JOB to an app whose folders are `folders`, wait for its end."""
    app = create_app({**app_config(tmp), **folders, "HEALTH_MIN_FREE_MB": 0})
    start_executor(app)
    client = app.test_client()
    try:
        job_id = client.post("/api/generate-video", json=FAST_JOB).get_json()["job_id"]
        return wait_for_job(lambda url: client.get(url).get_json(), job_id)
    finally:
        app.extensions["sora_executor"].shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize(
    ("folder", "key", "size"),
    [("work", "WORK_DIR", "64k"), ("videos", "VIDEOS_DIR", "64k")],
)
def test_a_job_out_of_disk_fails_with_disk_full(tmp_path, folder, key, size):
    with tmpfs(tmp_path / folder, size) as mounted:
        body = _run_one_job(tmp_path, **{key: mounted})
        leftovers = sorted(p.name for p in mounted.rglob("*"))
    assert body["status"] == "error", body
    assert body["error_code"] == "DISK_FULL", body
    assert f"the {folder} folder" in body["error"], body["error"]
    assert leftovers == [], "a failed job's temporary files should be removed"
