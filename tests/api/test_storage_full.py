"""Full disks and unusable databases answer 507/503 with a clear code, never a 500.

Real filesystems: a tiny tmpfs filled to ENOSPC, and a read-only bind mount of the
database's folder (root-only; see tests/mounts.py).
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sora_app import create_app
from sora_app.extensions import db
from tests.conftest import FAST_JOB, app_config, png_bytes, post_task_with_image
from tests.mounts import fill, read_only_view, tmpfs


def _app(tmp: Path, **overrides):
    return create_app({**app_config(tmp), **overrides})


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _upload(client):
    data = {"file": (io.BytesIO(png_bytes()), "pic.png")}
    return client.post("/api/uploads", data=data, content_type="multipart/form-data")


@pytest.fixture
def full_uploads(tmp_path: Path) -> Iterator:
    """The app with its uploads folder on a full disk (refusal threshold off: the write fails)."""
    with tmpfs(tmp_path / "uploads", "1m") as uploads:
        fill(uploads)
        app = _app(tmp_path, UPLOADS_DIR=uploads, HEALTH_MIN_FREE_MB=0)
        yield app
        _dispose(app)


def test_upload_to_a_full_disk_is_507_storage_full(full_uploads):
    response = _upload(full_uploads.test_client())
    assert response.status_code == 507, response.get_json()
    body = response.get_json()
    assert body["error"] == "STORAGE_FULL" and "uploads" in body["message"]
    assert body["details"]["folders"] == ["uploads"]
    leftovers = [p.name for p in full_uploads.config["UPLOADS_DIR"].rglob("*") if p.is_file()]
    assert leftovers == [".filler"], "a partial upload was left behind"


def test_task_with_an_image_on_a_full_disk_is_507_in_the_envelope(full_uploads):
    client = full_uploads.test_client()
    response = post_task_with_image(client, {"prompt": "a lighthouse"}, (64, 32), (9, 9, 9))
    assert response.status_code == 507
    body = response.get_json()
    assert body["success"] is False and body["error"] == "STORAGE_FULL"
    assert client.get("/api/video/tasks").get_json()["data"]["total"] == 0


def test_below_the_health_threshold_uploads_and_jobs_are_refused(tmp_path):
    """/health's warning and the refusals share one threshold and name the same folder."""
    with tmpfs(tmp_path / "uploads", "2m") as uploads:
        app = _app(tmp_path, UPLOADS_DIR=uploads, HEALTH_MIN_FREE_MB=3)
        client = app.test_client()
        try:
            refused = _upload(client)
            job = client.post("/api/generate-video", json=FAST_JOB)
            health = client.get("/health").get_json()
        finally:
            _dispose(app)
        written = [p for p in uploads.rglob("*") if p.is_file()]
    assert refused.status_code == 507 and refused.get_json()["error"] == "STORAGE_FULL"
    details = refused.get_json()["details"]
    assert details["folders"] == ["uploads"] and details["min_free_mb"] == 3
    assert details["free_mb"]["uploads"] <= 2
    assert written == [], "a refused upload must not be written"
    assert job.status_code == 507 and job.get_json()["error"] == "STORAGE_FULL"
    assert health["status"] == "degraded"
    assert health["checks"]["disk"]["low"] == ["uploads"], health["checks"]["disk"]
    assert "uploads" in health["checks"]["disk"]["message"]


@pytest.mark.sqlite_only
def test_database_on_a_full_disk_is_503_and_health_says_so(tmp_path):
    with tmpfs(tmp_path / "db", "1m") as folder:
        app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'jobs.sqlite'}")
        client = app.test_client()
        filler = fill(folder)
        try:
            submitted = client.post("/api/generate-video", json=FAST_JOB)
            task = client.post("/api/video/tasks", json={"prompt": "a lighthouse"})
            health = client.get("/health")
            filler.unlink()
            after = client.post("/api/generate-video", json=FAST_JOB)
        finally:
            _dispose(app)
    assert submitted.status_code == 503, submitted.get_json()
    body = submitted.get_json()
    assert body["error"] == "DATABASE_UNAVAILABLE" and body["details"]["reason"] == "disk_full"
    assert "disk is full" in body["message"]
    assert submitted.headers["Retry-After"].isdigit()
    assert task.status_code == 503 and task.get_json()["success"] is False
    assert health.status_code == 503 and health.get_json()["status"] == "error"
    database = health.get_json()["checks"]["database"]
    assert database["ok"] is False and database["reason"] == "disk_full"
    assert after.status_code == 202, "once there is room again, submits work again"


@pytest.mark.sqlite_only
def test_read_only_database_is_503_and_health_says_so(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _dispose(_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{data / 'jobs.sqlite'}"))
    # Another connection keeps the WAL files open, so reads still work; only writes fail.
    keeper = sqlite3.connect(data / "jobs.sqlite")
    keeper.execute("PRAGMA journal_mode=WAL").fetchall()
    try:
        with read_only_view(data, tmp_path / "ro") as view:
            app = _app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{view / 'jobs.sqlite'}")
            client = app.test_client()
            try:
                submitted = client.post("/api/generate-video", json=FAST_JOB)
                listed = client.get("/api/video/tasks")
                health = client.get("/health")
            finally:
                _dispose(app)
    finally:
        keeper.close()
    assert submitted.status_code == 503, submitted.get_json()
    body = submitted.get_json()
    assert body["error"] == "DATABASE_UNAVAILABLE" and body["details"]["reason"] == "read_only"
    assert submitted.headers["Retry-After"].isdigit()
    assert listed.status_code == 200, "reading still works"
    assert health.status_code == 503
    assert health.get_json()["checks"]["database"]["reason"] == "read_only"
