"""Server-Sent Events through a real gunicorn server: progress pushed, resumable by id."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import FAST_JOB, serve


@pytest.fixture(scope="module")
def sse_server(tmp_path_factory) -> Iterator[str]:
    yield from serve(
        tmp_path_factory.mktemp("sse"), SORA_EVENT_POLL_SECONDS="0.1",
        SORA_EVENT_HEARTBEAT_SECONDS="1", SORA_MAX_EVENT_STREAMS="2",
    )  # fmt: skip


def iter_events(response) -> Iterator[dict]:
    """Parse an SSE stream into {id, event, data} dicts; comments come as {"event": ":"}."""
    current: dict = {}
    for raw in response.iter_lines(decode_unicode=True):
        if raw.startswith(":"):
            yield {"event": ":"}
        elif raw.startswith(("id:", "event:", "data:", "retry:")):
            key, _, value = raw.partition(":")
            current[key] = value.strip()
        elif raw == "" and current:
            if "data" in current:
                current["data"] = json.loads(current["data"])
            yield current
            current = {}


def read_events(response, limit: int = 500) -> list[dict]:
    """Events up to the first final one (or `limit`, or the end of the stream)."""
    events = []
    for event in iter_events(response):
        events.append(event)
        if event.get("event") in ("complete", "error", "cancelled") or len(events) >= limit:
            break
    return events


def start_job(base: str) -> str:
    return requests.post(f"{base}/api/generate-video", json=FAST_JOB, timeout=5).json()["job_id"]


def test_job_stream_pushes_monotonic_progress_until_complete(sse_server):
    job_id = start_job(sse_server)
    with requests.get(
        f"{sse_server}/api/jobs/{job_id}/events", stream=True, timeout=60
    ) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["X-Accel-Buffering"] == "no"
        events = [e for e in read_events(response) if "data" in e]
    progress = [e["data"]["progress"] for e in events]
    assert progress == sorted(progress) and len(progress) >= 3
    assert events[-1]["event"] == "complete" and events[-1]["data"]["video_path"]
    etas = [e["data"]["eta_seconds"] for e in events]
    assert all(isinstance(s, int) and s >= 0 for s in etas) and etas[-1] == 0, etas
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids)


def test_reconnect_with_last_event_id_resumes_after_it(sse_server):
    job_id = start_job(sse_server)
    url = f"{sse_server}/api/jobs/{job_id}/events"
    with requests.get(url, stream=True, timeout=60) as response:
        first = [e for e in read_events(response, limit=4) if "data" in e]
    resume_from = first[-1]["id"]
    with requests.get(
        url, headers={"Last-Event-ID": resume_from}, stream=True, timeout=60
    ) as again:
        rest = [e for e in read_events(again) if "data" in e]
    assert rest, "the stream should continue after a reconnect"
    assert all(int(e["id"]) > int(resume_from) for e in rest)
    assert rest[-1]["event"] == "complete"
    with requests.get(
        url, headers={"Last-Event-ID": rest[-1]["id"]}, stream=True, timeout=10
    ) as done:
        assert [e for e in read_events(done) if "data" in e] == []


def test_all_jobs_stream_sends_heartbeats_and_changes(sse_server):
    with requests.get(f"{sse_server}/api/events", stream=True, timeout=60) as response:
        job_id = start_job(sse_server)
        events = []
        for event in iter_events(response):
            events.append(event)
            if event.get("event") == "complete" and event["data"]["job_id"] == job_id:
                break
    mine = [e for e in events if "data" in e and e["data"]["job_id"] == job_id]
    assert mine[-1]["event"] == "complete"


def test_idle_stream_sends_heartbeats(sse_server):
    with requests.get(f"{sse_server}/api/events", stream=True, timeout=30) as response:
        for event in iter_events(response):
            if event.get("event") == ":":
                break  # a keep-alive comment arrived on an idle stream


def test_stream_limit_is_a_429_not_a_hang(sse_server):
    first = requests.get(f"{sse_server}/api/events", stream=True, timeout=10)
    second = requests.get(f"{sse_server}/api/events", stream=True, timeout=10)
    try:
        third = requests.get(f"{sse_server}/api/events", timeout=10)
        assert third.status_code == 429 and third.json()["error"] == "TOO_MANY_STREAMS"
    finally:
        first.close()
        second.close()


def test_other_users_stream_is_404(sse_server):
    job_id = start_job(sse_server)
    token = requests.post(
        f"{sse_server}/api/auth/register",
        json={"username": "eve", "password": "long enough"},
        timeout=10,
    ).json()["access_token"]
    response = requests.get(
        f"{sse_server}/api/jobs/{job_id}/events",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 404
