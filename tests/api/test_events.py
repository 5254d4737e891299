"""Server-Sent Events through a real gunicorn server: progress pushed, resumable by id."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import FAST_JOB, serve, wait_for_job


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
    ) as done:  # 204 is what stops a browser's EventSource from reconnecting forever
        assert done.status_code == 204 and done.content == b""
    early = requests.get(url, headers={"Last-Event-ID": resume_from}, timeout=10)
    assert early.status_code == 200 and "event: complete" in early.text  # not yet seen: sent


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


def test_all_jobs_stream_opened_while_a_job_runs_starts_with_it(sse_server):
    """The stream reads the active jobs before it lets its connection go (it died here)."""
    job_id = start_job(sse_server)
    with requests.get(f"{sse_server}/api/events", stream=True, timeout=60) as response:
        events = read_events(response)
    assert events[1]["data"]["job_id"] == job_id, events[:3]  # after the retry: line
    assert events[-1]["event"] == "complete", events[-3:]


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


def test_resume_by_version_replays_nothing_twice_and_misses_nothing(sse_server):
    """Ids are the job's version: across a reconnect they strictly increase, and the second
    stream starts exactly after the last id the first one delivered."""
    job_id = start_job(sse_server)
    url = f"{sse_server}/api/jobs/{job_id}/events"
    with requests.get(url, stream=True, timeout=60) as response:
        first = [e for e in read_events(response, limit=3) if "data" in e]
    with requests.get(
        url, headers={"Last-Event-ID": first[-1]["id"]}, stream=True, timeout=60
    ) as again:
        rest = [e for e in read_events(again) if "data" in e]
    ids = [int(e["id"]) for e in first + rest]
    assert ids == sorted(set(ids)), f"a state was sent twice or out of order: {ids}"
    assert rest[-1]["event"] == "complete"
    states = [json.dumps({**e["data"], "eta_seconds": None}) for e in first + rest]
    assert len(states) == len(set(states)), "no identical event is ever re-sent"


def test_an_id_from_the_clock_era_starts_afresh(sse_server):
    """A client of the release whose ids were milliseconds resumes with the current state."""
    job_id = start_job(sse_server)
    with requests.get(
        f"{sse_server}/api/jobs/{job_id}/events",
        headers={"Last-Event-ID": "1796118203058"}, stream=True, timeout=60,
    ) as response:  # fmt: skip
        events = [e for e in read_events(response) if "data" in e]
    assert events[-1]["event"] == "complete" and int(events[0]["id"]) < 100


STREAMS = 60


@pytest.fixture(scope="module")
def small_pool_server(tmp_path_factory) -> Iterator[str]:
    """A pool of 5 connections (no overflow) and room for far more streams than that."""
    yield from serve(
        tmp_path_factory.mktemp("pool"), SORA_DB_POOL_SIZE="5", SORA_DB_MAX_OVERFLOW="0",
        SORA_MAX_EVENT_STREAMS=str(STREAMS + 10), SORA_WEB_THREADS=str(STREAMS + 30),
    )  # fmt: skip


def test_open_streams_hold_no_db_connection(small_pool_server):
    """60 streams against 5 connections: requests still answer and a job completes (before
    pushed events each stream kept a connection and the pool ran dry: 500s, failed jobs)."""
    base = small_pool_server
    streams = [requests.get(f"{base}/api/events", stream=True, timeout=60) for _ in range(STREAMS)]
    try:
        assert all(s.status_code == 200 for s in streams)
        followed = [iter_events(s) for s in streams]
        assert all(next(events) for events in followed)  # each stream is live (retry: line)
        job_id = start_job(base)
        for _ in range(10):
            assert requests.get(f"{base}/health", timeout=10).status_code == 200
            assert requests.get(f"{base}/api/progress/{job_id}", timeout=10).status_code == 200
        final = wait_for_job(lambda path: requests.get(base + path, timeout=10).json(), job_id)
        assert final["status"] == "complete", final
        for events in followed[:3]:  # and the streams saw it end
            done = next(e for e in events if e.get("event") == "complete")
            assert done["data"]["job_id"] == job_id
    finally:
        for stream in streams:
            stream.close()
