"""Signed webhooks out: real receivers on loopback verify every delivery with the Standard
Webhooks reference library; retries are driven by explicit clocks, never by sleeping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs import maintenance, webhook_dispatch, webhook_outbox
from sora_app.jobs.executors import start_executor
from sora_app.jobs.webhook_send import _post
from sora_app.providers.ssrf import Target
from tests.conftest import FAST_JOB, app_config, close_app, local_uploads, wait_for_job
from tests.webhook_receiver import Receiver, serve_receiver

QUICK = {"topic": "A lighthouse", "voice_id": "espeak_male", "duration": 0.15, "num_scenes": 2}


def hook_config(tmp: Path, **extra) -> dict:
    """The receiver lives on loopback, so the operator allow-lists it; sends are driven by
    the test (no sender thread) unless a test asks for one."""
    return {
        **app_config(tmp),
        "WEBHOOK_ALLOW_HOSTS": ("127.0.0.1",),
        "WEBHOOK_SENDER_THREAD": False,
        "WEBHOOK_TIMEOUT_SECONDS": 3.0,
        **extra,
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def hook_app(tmp_path: Path) -> Iterator:
    app = create_app(hook_config(tmp_path))
    yield app
    close_app(app)


def secret_of(client, headers=None) -> str:
    return client.get("/api/auth/webhook", headers=headers or {}).get_json()["secret"]


def ended_job(client, url: str | None, headers=None, **fields) -> str:
    """A job (with its own webhook URL unless None), ended at once by a cancel while queued."""
    body = {**QUICK, **({"webhook_url": url} if url else {}), **fields}
    created = client.post("/api/generate-video", json=body, headers=headers or {})
    assert created.status_code == 202, created.get_json()
    job_id = created.get_json()["job_id"]
    assert client.post(f"/api/jobs/{job_id}/cancel", headers=headers or {}).status_code == 200
    return job_id


def webhook_of(client, job_id: str, headers=None) -> dict:
    body = client.get(f"/api/progress/{job_id}", headers=headers or {}).get_json()
    return body["webhook"]


def test_a_rendered_video_sends_one_signed_completed_event(tmp_path, receiver):
    """A real render; the sender thread of the process that ran it sends the event."""
    app = create_app(hook_config(tmp_path, WEBHOOK_SENDER_THREAD=True))
    try:
        start_executor(app)
        client = app.test_client()
        receiver.secret = secret_of(client)
        job_id = client.post("/api/generate-video", json={**FAST_JOB, "webhook_url": receiver.url})
        job_id = job_id.get_json()["job_id"]
        done = wait_for_job(lambda url: client.get(url).get_json(), job_id)
        assert done["status"] == "complete", done
        [delivery] = receiver.wait_for(1)
        assert delivery.problem is None, delivery.problem
        event = delivery.event
        assert event["type"] == "video.completed"
        assert event["data"]["id"] == f"video_{job_id}" and event["data"]["job_id"] == job_id
        assert event["data"]["status"] == "completed"
        assert event["data"]["video_url"] == done["video_url"]
        assert delivery.headers["webhook-id"].startswith("msg_")
        assert delivery.headers["webhook-signature"].startswith("v1,")
        shown = client.get(f"/api/progress/{job_id}")
        for _ in range(200):  # the sender settles the row right after the answer
            if shown.get_json()["webhook"]["status"] == "delivered":
                break
            time.sleep(0.05)
            shown = client.get(f"/api/progress/{job_id}")
        hook = shown.get_json()["webhook"]
        assert hook["status"] == "delivered" and hook["attempts"] == 1, hook
        assert hook["last_status_code"] == 200 and hook["delivered_at"]
        task = client.get(f"/api/video/tasks/video_{job_id}")
        assert task.get_json()["data"]["webhook"]["status"] == "delivered"
        for answer in (shown, task):
            assert receiver.secret.removeprefix("whsec_") not in answer.get_data(as_text=True)
        assert len(receiver.received) == 1
    finally:
        close_app(app)


def test_a_failing_job_sends_video_failed(tmp_path, receiver):
    app = create_app(hook_config(tmp_path))
    try:
        start_executor(app)  # its maintenance pass sends (no sender thread here)
        client = app.test_client()
        receiver.secret = secret_of(client)
        (local_uploads(app) / "broken.png").write_bytes(b"definitely not a png")
        job = {
            **QUICK, "image_mode": "manual_only", "manual_image_paths": ["broken.png"],
            "callback_url": receiver.url,
        }  # fmt: skip
        job_id = client.post("/api/generate-video", json=job).get_json()["job_id"]
        assert wait_for_job(lambda url: client.get(url).get_json(), job_id)["status"] == "error"
        [delivery] = receiver.wait_for(1)
        assert delivery.problem is None, delivery.problem
        assert delivery.event["type"] == "video.failed"
        assert delivery.event["data"]["status"] == "failed"
        assert delivery.event["data"]["error"]["code"] == "BAD_IMAGE"
        assert "video_url" not in delivery.event["data"]
    finally:
        close_app(app)


def test_a_cancelled_job_reports_failed_with_its_reason(hook_app, receiver):
    client = hook_app.test_client()
    receiver.secret = secret_of(client)
    job_id = ended_job(client, receiver.url)
    assert webhook_of(client, job_id)["status"] == "pending"
    assert webhook_dispatch.deliver_due(hook_app) != []
    [delivery] = receiver.received
    assert delivery.problem is None, delivery.problem
    assert delivery.event["type"] == "video.failed"
    assert delivery.event["data"]["status"] == "cancelled"
    assert delivery.event["data"]["error"]["code"] == "CANCELLED"


def test_a_500_is_retried_with_backoff_and_then_delivered(hook_app, receiver):
    client = hook_app.test_client()
    receiver.secret = secret_of(client)
    receiver.answers = [(500, {})]
    job_id = ended_job(client, receiver.url)
    start = time.time()
    assert len(webhook_dispatch.deliver_due(hook_app, now=start)) == 1
    hook = webhook_of(client, job_id)
    assert hook["status"] == "pending" and hook["attempts"] == 1, hook
    assert hook["last_status_code"] == 500 and "500" in hook["last_error"]
    assert webhook_dispatch.deliver_due(hook_app, now=start + 4) == [], "retried before 5 s"
    assert len(receiver.received) == 1
    assert len(webhook_dispatch.deliver_due(hook_app, now=start + 6)) == 1
    hook = webhook_of(client, job_id)
    assert hook["status"] == "delivered" and hook["attempts"] == 2, hook
    assert hook["last_status_code"] == 200 and hook["delivered_at"] and hook["last_error"] is None
    first, second = receiver.received
    assert first.problem is None and second.problem is None
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert webhook_dispatch.deliver_due(hook_app, now=start + 10**6) == []
    assert len(receiver.received) == 2


def test_the_maintenance_pass_sends_and_retries(hook_app, receiver):
    client = hook_app.test_client()
    receiver.secret = secret_of(client)
    receiver.answers = [(503, {})]
    job_id = ended_job(client, receiver.url)
    start = time.time()
    assert len(maintenance.run(hook_app, None, now=start, with_prune=False).webhooks) == 1
    assert maintenance.run(hook_app, None, now=start + 1, with_prune=False).webhooks == []
    assert len(maintenance.run(hook_app, None, now=start + 6, with_prune=False).webhooks) == 1
    assert webhook_of(client, job_id)["status"] == "delivered"


def test_retry_after_is_honoured(hook_app, receiver):
    client = hook_app.test_client()
    receiver.answers = [(429, {"Retry-After": "120"})]
    job_id = ended_job(client, receiver.url)
    start = time.time()
    webhook_dispatch.deliver_due(hook_app, now=start)
    assert webhook_dispatch.deliver_due(hook_app, now=start + 60) == []
    assert len(webhook_dispatch.deliver_due(hook_app, now=start + 121)) == 1
    hook = webhook_of(client, job_id)
    assert hook["status"] == "delivered" and hook["attempts"] == 2


@pytest.mark.parametrize("code", [410, 400])
def test_a_refusal_gives_up_at_once(hook_app, receiver, code):
    client = hook_app.test_client()
    receiver.answers = [(code, {})]
    job_id = ended_job(client, receiver.url)
    start = time.time()
    webhook_dispatch.deliver_due(hook_app, now=start)
    hook = webhook_of(client, job_id)
    assert hook["status"] == "failed" and hook["attempts"] == 1, hook
    assert hook["last_status_code"] == code and hook["next_attempt_at"] is None
    assert webhook_dispatch.deliver_due(hook_app, now=start + 10**6) == []
    assert len(receiver.received) == 1


def test_attempts_are_bounded(tmp_path, receiver):
    app = create_app(hook_config(tmp_path, WEBHOOK_MAX_ATTEMPTS=3))
    try:
        client = app.test_client()
        receiver.answers = [(503, {})] * 10
        job_id = ended_job(client, receiver.url)
        clock = time.time()
        for _ in range(5):
            webhook_dispatch.deliver_due(app, now=clock)
            clock += 10**5
        hook = webhook_of(client, job_id)
        assert hook["status"] == "failed" and hook["attempts"] == 3, hook
        assert len(receiver.received) == 3
    finally:
        close_app(app)


REFUSED = [
    "http://127.0.0.1:{port}/hooks",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://localhost:{port}/hooks",
    "file:///etc/passwd",
    "http://user:pw@127.0.0.1:{port}/hooks",
]


@pytest.mark.parametrize("url", REFUSED)
def test_unsafe_urls_are_refused_at_delivery_time(hook_app, receiver, url):
    """A row naming such a URL (the allow-list shrank since, a name now resolves
    elsewhere) is never sent: it fails with the reason, without a retry."""
    client = hook_app.test_client()
    job_id = ended_job(client, receiver.url)
    hook_app.config["WEBHOOK_ALLOW_HOSTS"] = ()
    with hook_app.app_context():
        row = webhook_outbox.for_job(job_id)
        row.url = url.format(port=receiver.port)
        db.session.commit()
    start = time.time()
    assert len(webhook_dispatch.deliver_due(hook_app, now=start)) == 1
    hook = webhook_of(client, job_id)
    assert hook["status"] == "failed" and hook["last_error"].startswith("refused"), hook
    assert hook["last_status_code"] is None
    assert webhook_dispatch.deliver_due(hook_app, now=start + 10**6) == []
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address(receiver):
    """The checked IP is what is dialled, whatever the name now resolves to (rebinding)."""
    target = Target(
        url="http://hooks.invalid/x", scheme="http", host="hooks.invalid",
        port=receiver.port, ip="127.0.0.1", path="/hooks?a=1",
    )  # fmt: skip
    outcome = _post(target, {"Host": target.host_header}, b"{}", timeout=3.0)
    assert outcome.delivered
    [delivery] = receiver.received
    assert delivery.headers["host"] == f"hooks.invalid:{receiver.port}"
    assert delivery.path == "/hooks?a=1"


def test_a_delivery_is_never_claimed_twice_at_once(hook_app, receiver):
    client = hook_app.test_client()
    job_id = ended_job(client, receiver.url)
    now = time.time()
    with hook_app.app_context():
        delivery_id = webhook_outbox.for_job(job_id).id
        assert webhook_outbox.claim(delivery_id, "a", now, lease_seconds=60)
        assert not webhook_outbox.claim(delivery_id, "b", now + 1, lease_seconds=60)
        assert webhook_dispatch.deliver_due(hook_app, now=now + 2) == []
        # the first sender died mid-attempt: once its lease is over, another one sends
        assert webhook_outbox.claim(delivery_id, "b", now + 61, lease_seconds=60)
        assert not webhook_outbox.settle(
            delivery_id, "a", status="delivered", status_code=200, error=None
        ), "a sender whose lease ran out settled the row"


def test_a_restart_loses_no_delivery(tmp_path, receiver):
    """The outbox is a table: a new process on the same database sends what is due."""
    first = create_app(hook_config(tmp_path))
    client = first.test_client()
    receiver.secret = secret_of(client)
    job_id = ended_job(client, receiver.url)
    close_app(first)
    second = create_app(hook_config(tmp_path))
    try:
        report = maintenance.run(second, None, now=time.time(), with_prune=False)
        assert len(report.webhooks) == 1
        [delivery] = receiver.received
        assert delivery.problem is None and delivery.event["data"]["job_id"] == job_id
    finally:
        close_app(second)


def test_a_deleted_job_still_sends_its_event(hook_app, receiver):
    client = hook_app.test_client()
    receiver.secret = secret_of(client)
    job_id = ended_job(client, receiver.url)
    assert client.delete(f"/api/video/tasks/video_{job_id}").status_code == 200
    webhook_dispatch.deliver_due(hook_app)
    [delivery] = receiver.received
    assert delivery.problem is None and delivery.event["data"]["job_id"] == job_id


def test_a_rotated_secret_signs_later_attempts(hook_app, receiver):
    client = hook_app.test_client()
    old = secret_of(client)
    receiver.answers = [(500, {})]
    ended_job(client, receiver.url)
    start = time.time()
    webhook_dispatch.deliver_due(hook_app, now=start)
    new = client.post("/api/auth/webhook/rotate-secret").get_json()["secret"]
    assert new != old and new.startswith("whsec_")
    webhook_dispatch.deliver_due(hook_app, now=start + 6)
    first, second = receiver.received
    Webhook(old).verify(first.body, first.headers)
    Webhook(new).verify(second.body, second.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(second.body, second.headers)
