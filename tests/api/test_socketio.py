"""Socket.IO at /socket.io/ through a real gunicorn server with the production worker defaults
and python-socketio's own client: the creator studio's four live job events."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import socketio

from sora_app.devtools.fake_upstreams import FakeUpstreams
from tests.conftest import (
    FAST_JOB,
    free_port,
    server_env,
    start_server,
    stop_server,
    wait_for_http,
)

HANG_GUARD = 60.0
"""Seconds before a missing event fails the test instead of hanging it (not a timing check)."""
SECRET = "sio-test-secret-" + "s" * 32
QUICK_JOB = {**FAST_JOB, "duration": 0.1, "num_scenes": 1, "aspect_ratio": "1:1"}
"""The cheapest real render: one square scene, a few seconds of espeak."""
JOB_EVENTS = ("processing_started", "progress_update", "processing_completed", "processing_failed")
FINAL_EVENTS = ("processing_completed", "processing_failed")


def production_server(tmp: Path, **extra: str) -> Iterator[str]:
    """gunicorn as `make run` starts it: unlike conftest's serve(), the web workers and threads
    are the production defaults (sora_app/gunicorn_conf.py), which Socket.IO's polling needs."""
    port = free_port()
    env = server_env(tmp, port, SORA_EVENT_POLL_SECONDS="0.1", **extra)
    for key in ("SORA_WEB_WORKERS", "SORA_WEB_THREADS"):
        if key not in extra:
            env.pop(key, None)
    proc = start_server(env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health")
        yield base
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def open_server(tmp_path_factory) -> Iterator[str]:
    """Open mode, with a video API that refuses connections (a quick real failure)."""
    yield from production_server(
        tmp_path_factory.mktemp("sio"),
        SORA_VIDEO_API_BASE_URL=FakeUpstreams.refused_base_url(),
        SORA_UPSTREAM_MAX_ATTEMPTS="1",
    )


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory) -> Iterator[str]:
    yield from production_server(
        tmp_path_factory.mktemp("sio_strict"), SORA_AUTH_MODE="required",
        SORA_SECRET_KEY=SECRET, SORA_RATE_LIMIT_REGISTER="100 per hour",
    )  # fmt: skip


class Listener:
    """A python-socketio client that records the job events and a refusal's reason."""

    def __init__(self, **options) -> None:
        self.client = socketio.Client(reconnection=False, handle_sigint=False, **options)
        self.events: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.refusal: dict | None = None
        self.disconnected = threading.Event()
        for name in (*JOB_EVENTS, "subscribe_error", "session_ended"):
            self.client.on(name, lambda data, name=name: self.events.put((name, data)))
        self.client.on("connect_error", self._refused)
        self.client.on("disconnect", lambda *_reason: self.disconnected.set())

    def _refused(self, data: dict) -> None:
        self.refusal = data

    def connect(self, base: str, **options) -> Listener:
        self.client.connect(base, wait_timeout=HANG_GUARD, **options)
        return self

    def refused(self, base: str, **options) -> dict:
        """The reason the server gave for refusing this connection ({error, message})."""
        with pytest.raises(socketio.exceptions.ConnectionError):
            self.connect(base, **options)
        assert self.refusal is not None and self.refusal["message"]
        return self.refusal["data"]

    def subscribe(self, job_id: str) -> dict:
        return self.client.call("subscribe", {"job_id": job_id}, timeout=HANG_GUARD)

    def next(self) -> tuple[str, dict]:
        try:
            return self.events.get(timeout=HANG_GUARD)
        except queue.Empty:
            raise AssertionError("no event arrived") from None

    def until_final(self, job_id: str) -> list[tuple[str, dict]]:
        """This job's events up to and including its final one."""
        got: list[tuple[str, dict]] = []
        while not got or got[-1][0] not in FINAL_EVENTS:
            name, data = self.next()
            assert name != "subscribe_error", data
            if data["job_id"] == job_id:
                got.append((name, data))
        return got

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()


@pytest.fixture
def listener() -> Iterator[type[Listener]]:
    made: list[Listener] = []

    def make(**options) -> Listener:
        made.append(Listener(**options))
        return made[-1]

    yield make  # type: ignore[misc]
    for one in made:
        one.close()


def submit(base: str, token: str | None = None, **fields) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.post(
        f"{base}/api/generate-video", json={**QUICK_JOB, **fields}, headers=headers, timeout=10
    )
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def register(base: str, name: str) -> str:
    body = requests.post(
        f"{base}/api/auth/register", json={"username": name, "password": "long enough"}, timeout=10
    ).json()
    return body["access_token"]


def assert_a_clean_run(events: list[tuple[str, dict]]) -> dict:
    """started first, then monotonic progress, versions never repeated; the final payload."""
    names = [name for name, _ in events]
    assert names[0] == "processing_started" and names[-1] == "processing_completed", names
    assert set(names[1:-1]) <= {"progress_update"}, names
    progress = [data["progress"] for _, data in events]
    assert progress == sorted(progress), progress
    versions = [data["version"] for _, data in events]
    assert versions == sorted(set(versions)), f"a state was sent twice: {versions}"
    for _, data in events[:-1]:
        assert {"job_id", "progress", "message", "current_step"} <= set(data)
    return events[-1][1]


def test_default_transports_follow_a_job_to_a_video_that_downloads(open_server, listener):
    client = listener().connect(open_server)  # default: polling first, then the upgrade
    job_id = submit(open_server)
    ack = client.subscribe(job_id)
    assert ack["job_id"] == job_id and ack["subscribed"] is True
    events = client.until_final(job_id)
    assert client.client.transport() == "websocket", "the upgrade from polling failed"
    done = assert_a_clean_run(events)
    assert len(events) >= 3 and done["video_id"] == job_id and done["duration"] > 0
    for url in (done["video_url"], done["thumbnail_url"]):
        download = requests.get(open_server + url, timeout=10)
        assert download.status_code == 200 and len(download.content) > 1000, url
    assert client.subscribe(job_id)["subscribed"]  # a finished job: its result at once
    name, data = client.next()
    assert name == "processing_completed" and data["version"] == done["version"]


def test_polling_alone_works_with_the_production_worker_setting(open_server, listener):
    """Every poll on a new connection (as nginx talks to upstreams by default), so a session
    would fall apart if a request could land on a process that did not make it."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    job_id = submit(open_server)
    client = listener(http_session=session)
    client.connect(open_server, transports=["polling"], auth={"job_id": job_id})
    events = client.until_final(job_id)  # subscribed at connect: no subscribe message needed
    assert client.client.transport() == "polling"
    assert_a_clean_run(events)


def test_failed_and_cancelled_jobs_are_processing_failed(open_server, listener):
    client = listener().connect(open_server)
    failing = submit(open_server, engine="sora")  # its video API refuses connections
    client.subscribe(failing)
    name, data = client.until_final(failing)[-1]
    assert name == "processing_failed", data
    assert data["error"] == "UPSTREAM_UNAVAILABLE" and data["message"]
    blocker = submit(open_server)  # one job at a time: the next one waits in the queue
    queued = submit(open_server)
    client.subscribe(queued)
    cancel = requests.post(f"{open_server}/api/jobs/{queued}/cancel", timeout=10)
    assert cancel.status_code == 200, cancel.text
    events = client.until_final(queued)
    assert events[0][0] == "processing_started" and events[0][1]["status"] == "queued"
    assert events[-1][0] == "processing_failed" and events[-1][1]["error"] == "CANCELLED"
    client.subscribe(blocker)
    assert client.until_final(blocker)[-1][0] == "processing_completed"


def test_required_mode_refuses_missing_and_bad_tokens_and_takes_good_ones(strict_server, listener):
    assert listener().refused(strict_server)["error"] == "AUTH_REQUIRED"
    bad = listener().refused(strict_server, auth={"token": "not-a-jwt"})
    assert bad["error"] == "TOKEN_INVALID" and bad["message"]
    token = register(strict_server, "ana")
    refused_in_url = listener().refused(f"{strict_server}?token={token}")
    assert refused_in_url["error"] == "TOKEN_INVALID", "an access token never goes in a URL"
    listener().connect(strict_server, auth={"token": token})
    listener().connect(strict_server, headers={"Authorization": f"Bearer {token}"})
    media = requests.post(
        f"{strict_server}/api/auth/media-token",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["token"]
    listener().connect(f"{strict_server}?token={media}")
    key = requests.post(
        f"{strict_server}/api/auth/api-keys", json={"name": "studio"},
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    ).json()["key"]  # fmt: skip
    listener().connect(strict_server, auth={"token": key})
    assert listener().refused(strict_server, auth={"token": key + "x"})["error"] == (
        "API_KEY_INVALID"
    )


def test_another_users_job_is_not_found(strict_server, listener):
    owner = register(strict_server, "olga")
    job_id = submit(strict_server, owner)
    requests.post(
        f"{strict_server}/api/jobs/{job_id}/cancel",
        headers={"Authorization": f"Bearer {owner}"},
        timeout=10,
    )
    other = register(strict_server, "mallory")
    client = listener().connect(strict_server, auth={"token": other})
    for target in (job_id, "does-not-exist"):
        answer = client.subscribe(target)
        assert answer["error"] == "JOB_NOT_FOUND" and "subscribed" not in answer
    refusal = listener().refused(strict_server, auth={"token": other, "job_id": job_id})
    assert refusal["error"] == "JOB_NOT_FOUND"
    mine = listener().connect(strict_server, auth={"token": owner, "job_id": job_id})
    name, data = mine.until_final(job_id)[-1]  # a running job stops at its next check
    assert name == "processing_failed" and data["error"] == "CANCELLED"
    assert client.events.empty(), "the other user heard about the job"


def test_logout_ends_an_open_connection(strict_server, listener):
    token = register(strict_server, "lena")
    client = listener().connect(strict_server, auth={"token": token})
    logout = requests.post(
        f"{strict_server}/api/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert logout.status_code == 200
    name, data = client.next()
    assert name == "session_ended" and data["error"] == "TOKEN_REVOKED"
    assert client.disconnected.wait(HANG_GUARD), "the server kept the connection open"
