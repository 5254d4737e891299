"""/metrics (merged across gunicorn workers), request ids end to end, and JSON logs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sora_app import create_app
from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.jobs.executors import start_executor
from tests.conftest import FAST_JOB, app_config, close_app, serve, wait_for_job
from tests.jobs.test_upstream_jobs import KEY, upstream

HANG_GUARD = 60.0


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text answer."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("observe")
    env = {"SORA_WEB_WORKERS": "2", "SORA_LOG_FORMAT": "json"}
    yield from ((base, tmp) for base in serve(tmp, **env))


def test_metrics_sum_every_worker_and_count_jobs_stages_and_streams(two_workers):
    base, _ = two_workers
    for _ in range(12):  # a new connection each: gunicorn hands them to either worker
        assert requests.get(f"{base}/health", headers={"Connection": "close"}, timeout=10).ok
    job_id = requests.post(f"{base}/api/generate-video", json=FAST_JOB, timeout=10).json()["job_id"]
    with requests.get(f"{base}/api/jobs/{job_id}/events", stream=True, timeout=60) as stream:
        next(stream.iter_lines())  # the stream is open now
        during = samples(requests.get(f"{base}/metrics", timeout=10).text)
        assert during[("sora_event_streams_open", ())] == 1.0
    done = wait_for_job(lambda url: requests.get(base + url, timeout=10).json(), job_id)
    assert done["status"] == "complete"
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:  # the stream's slot is given back as it closes
        after = samples(requests.get(f"{base}/metrics", timeout=10).text)
        if after[("sora_event_streams_open", ())] == 0.0:
            break
    assert after[("sora_event_streams_open", ())] == 0.0
    health = ("method", "GET"), ("route", "/health"), ("status", "200")
    assert after[("sora_http_request_duration_seconds_count", health)] >= 12
    assert after[("sora_jobs", (("status", "completed"),))] == 1.0
    assert after[("sora_queue_depth", ())] == 0.0
    for stage in ("script", "images", "narration", "compile"):
        assert after[("sora_job_stage_duration_seconds_count", (("stage", stage),))] == 1.0
    workers = {p.name.split("_")[-1] for p in (two_workers[1] / "instance" / "metrics").glob("*")}
    assert len(workers) == 2, "both workers counted"


def test_request_ids_are_kept_made_returned_and_logged(two_workers):
    base, tmp = two_workers
    sent = requests.get(f"{base}/api/progress", headers={"X-Request-ID": "trace-42"}, timeout=10)
    assert sent.headers["X-Request-ID"] == "trace-42"
    again = requests.get(f"{base}/api/progress", headers={"X-Request-ID": "trace-43"}, timeout=10)
    assert again.headers["X-Request-ID"] == "trace-43", "a replayed answer gets its own id"
    made = requests.get(f"{base}/api/progress", timeout=10).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    bad = requests.get(f"{base}/health", headers={"X-Request-ID": "x" * 300}, timeout=10)
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["X-Request-ID"])
    refused = requests.post(f"{base}/api/generate-video", json={"topic": ""}, timeout=10)
    assert refused.status_code == 400 and refused.headers["X-Request-ID"]
    logs = next(tmp.glob("server-*.log")).read_text()
    records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "name", "message"} <= set(r) for r in records)
    jobs = [r for r in records if r["request_id"].startswith("job-")]
    assert jobs and all(r["request_id"][4:] in r["message"] for r in jobs if "job=" in r["message"])


@pytest.fixture
def gateway() -> Iterator[FakeUpstreams]:
    fake = FakeUpstreams(api_key=KEY, video_seconds=0.3)
    fake.start()
    yield fake
    fake.stop()


def test_upstream_calls_are_counted_and_carry_the_jobs_id(tmp_path, gateway):
    app = create_app(
        {**app_config(tmp_path), "UPSTREAMS": {"video": upstream("video", gateway.base_url)},
         "VIDEO_API_POLL_SECONDS": 0.1}
    )  # fmt: skip
    start_executor(app)
    try:
        client = app.test_client()
        before = samples(client.get("/metrics").get_data(as_text=True))
        gateway.set_fault("videos_get", "503", 1)
        job_id = client.post("/api/generate-video", json={**FAST_JOB, "engine": "sora"}).get_json()[
            "job_id"
        ]
        done = wait_for_job(lambda url: client.get(url).get_json(), job_id)
        assert done["status"] == "complete"
        after = samples(client.get("/metrics").get_data(as_text=True))
    finally:
        app.extensions["sora_executor"].shutdown()
        close_app(app)
    ok = ("sora_upstream_calls_total", (("outcome", "ok"), ("upstream", "video API")))
    retries = ("sora_upstream_retries_total", (("upstream", "video API"),))
    assert after[ok] - before.get(ok, 0) >= 3  # create, polls, download
    assert after[retries] - before.get(retries, 0) >= 1
    created = gateway.requests("videos_create")[-1]
    assert created["request_id"] == f"job-{job_id}"


def test_a_metrics_token_guards_the_route(tmp_path):
    app = create_app({**app_config(tmp_path), "METRICS_TOKEN": "scrape-me"})
    try:
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert right.status_code == 200 and right.mimetype == "text/plain"
        assert "sora_jobs" in right.get_data(as_text=True)
    finally:
        close_app(app)
