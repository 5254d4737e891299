"""Shared fixtures: a fresh app, database and folders per test; real ffmpeg; real servers."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs.executors import start_executor

from .suite_database import SUITE_DATABASE, database_url, drop_schemas, skip_reason

ROOT = Path(__file__).resolve().parent.parent

FAST_JOB = {
    "topic": "The Vanishing Lighthouse",
    "story_type": "scary_horror",
    "voice_id": "espeak_male",
    "duration": 0.15,
    "num_scenes": 2,
    "aspect_ratio": "9:16",
    "music": False,
}
"""The cheapest real job: two scenes, ~9 s of espeak narration."""


def pytest_report_header(config) -> str:
    return f"suite database: {SUITE_DATABASE} (SORA_TEST_DATABASE)"


def pytest_collection_modifyitems(config, items) -> None:
    """Deselect what cannot run on this suite's database (see tests/suite_database.py)."""
    kept, dropped = [], []
    for item in items:
        (dropped if skip_reason(item) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def _own_database_schemas(tmp_path: Path) -> Iterator[None]:
    """On PostgreSQL, drop the schemas this test's instance folders got (after its apps closed)."""
    yield
    drop_schemas(under=tmp_path.resolve())


def pytest_sessionfinish(session) -> None:
    drop_schemas()


def app_config(tmp: Path) -> dict:
    instance = tmp / "instance"
    return {
        "TESTING": True,
        "INSTANCE_DIR": instance,
        "VIDEOS_DIR": tmp / "videos",
        "UPLOADS_DIR": instance / "uploads",
        "WORK_DIR": instance / "work",
        "SQLALCHEMY_DATABASE_URI": database_url(instance),
        "JOB_LEASE_SECONDS": 3.0,
        "JOB_HEARTBEAT_SECONDS": 0.5,
        "JOB_SCAN_SECONDS": 0.2,
        "JOB_QUEUE_LIMIT": 5,
        "HEALTH_MIN_FREE_MB": 1,
    }


def png_bytes(size=(64, 32), color=(200, 30, 30)) -> bytes:
    """A real PNG made in memory, for upload tests."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def post_task_with_image(client, fields: dict, size, color):
    """POST /api/video/tasks as multipart with a reference image, as browsers send it."""
    data = {**fields, "input_reference": (io.BytesIO(png_bytes(size, color)), "ref.png")}
    return client.post("/api/video/tasks", data=data, content_type="multipart/form-data")


def local_uploads(app) -> Path:
    """The uploads folder of the local user (requests without a token in AUTH_MODE=open)."""
    folder = Path(app.config["UPLOADS_DIR"]) / "local"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def server_env(tmp: Path, port: int, **extra: str) -> dict[str, str]:
    """Environment for a real server process with the same folders as app_config(tmp)."""
    instance = tmp / "instance"
    env = dict(os.environ)
    env.update(
        SORA_INSTANCE_DIR=str(instance),
        SORA_VIDEOS_DIR=str(tmp / "videos"),
        SORA_DATABASE_URL=database_url(instance),
        SORA_PORT=str(port),
        SORA_HOST="127.0.0.1",
        SORA_JOB_LEASE_SECONDS="3",
        SORA_JOB_HEARTBEAT_SECONDS="0.5",
        SORA_JOB_SCAN_SECONDS="0.2",
        SORA_HEALTH_MIN_FREE_MB="1",
        SORA_WEB_WORKERS="1",
    )
    env.update(extra)
    return env


@pytest.fixture
def app(tmp_path: Path):
    app = create_app(app_config(tmp_path))
    yield app
    close_app(app)


def close_app(app) -> None:
    """Stop the app's job workers and release its database connections."""
    executor = app.extensions.get("sora_executor")
    if executor is not None:
        executor.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def running_app(app):
    """The app with its job workers started, as wsgi.py does."""
    start_executor(app)
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    """Until the server answers; a worker still booting on a busy box may answer slowly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start within {timeout} s")


def start_server(env: dict[str, str]) -> subprocess.Popen:
    """The production server (gunicorn + the project's config), as `make run` starts it.

    Its log goes to `server-<port>.log` beside the instance folder, never to a pipe: nobody
    reads one, and a long-lived server that filled its 64 KiB blocked in the middle of a write
    until the master killed the worker (streams then ended mid-body).
    """
    gunicorn = Path(sys.executable).parent / "gunicorn"
    log_path = Path(env["SORA_INSTANCE_DIR"]).parent / f"server-{env['SORA_PORT']}.log"
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [str(gunicorn), "-c", "python:sora_app.gunicorn_conf", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def stop_server(proc: subprocess.Popen, sig: int = 15) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def serve(tmp: Path, **extra: str) -> Iterator[str]:
    """A real gunicorn server on a free loopback port for as long as the generator runs."""
    port = free_port()
    proc = start_server(server_env(tmp, port, **extra))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health")
        yield base
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[str]:
    """One real gunicorn server per test module."""
    yield from serve(tmp_path_factory.mktemp("live"))


def wait_for_job(get, job_id: str, timeout: float = 120.0) -> dict:
    """Poll progress until the job ends; `get(url)` returns the parsed JSON body."""
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = get(f"/api/progress/{job_id}")
        if body.get("error") == "DATABASE_UNAVAILABLE":
            time.sleep(0.5)  # a 503 a polling client retries (e.g. PostgreSQL's connections full
            continue  # while the whole suite runs at once); any other error body fails below
        assert "status" in body, f"job {job_id}: {body}"
        if body["status"] in ("complete", "error", "cancelled"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s; last: {body}")
