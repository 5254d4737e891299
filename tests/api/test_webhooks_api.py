"""Webhook settings and submits: a per-user URL and secret, SSRF refusals with the field."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from sora_app import create_app
from sora_app.jobs import webhook_dispatch
from tests.api.test_auth import bearer, register
from tests.conftest import app_config, close_app
from tests.jobs.test_webhooks import QUICK, ended_job, hook_config, secret_of
from tests.webhook_receiver import Receiver, serve_receiver

UNSAFE = [
    "http://127.0.0.1/",
    "http://10.0.0.1/",
    "http://169.254.169.254/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost/",
    "file:///etc/passwd",
    "http://user:pw@example.com/",
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def hook_app(tmp_path) -> Iterator:
    app = create_app(hook_config(tmp_path))
    yield app
    close_app(app)


@pytest.mark.parametrize("url", UNSAFE)
@pytest.mark.parametrize("name", ["webhook_url", "callback_url"])
def test_contract_1_refuses_unsafe_webhook_urls(client, url, name):
    answer = client.post("/api/generate-video", json={**QUICK, name: url})
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["field"] == "webhook_url"
    assert answer.get_json()["error"] == "WEBHOOK_URL_NOT_ALLOWED"
    assert client.get("/api/progress").get_json()["status"] == "idle", "a job was made"


@pytest.mark.parametrize("url", UNSAFE)
def test_the_task_api_refuses_unsafe_webhook_urls(client, url):
    answer = client.post("/api/video/tasks", json={"prompt": "A lighthouse", "webhookUrl": url})
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["field"] == "webhook_url"
    assert answer.get_json()["success"] is False


def test_an_allow_listed_loopback_url_is_accepted_at_submit(hook_app, receiver):
    client = hook_app.test_client()
    answer = client.post(
        "/api/video/tasks", json={"prompt": "A lighthouse", "callbackUrl": receiver.url}
    )
    assert answer.status_code == 201, answer.get_json()
    hook = answer.get_json()["data"]["webhook"]
    assert hook == {
        "url": receiver.url, "status": "pending", "attempts": 0, "last_status_code": None,
        "last_error": None, "next_attempt_at": None, "delivered_at": None,
    }  # fmt: skip


def test_the_settings_hold_a_url_and_a_rotatable_secret(client):
    first = client.get("/api/auth/webhook").get_json()
    assert first["url"] is None and first["secret"].startswith("whsec_")
    assert len(base64.b64decode(first["secret"].removeprefix("whsec_"))) >= 24
    assert client.get("/api/auth/webhook").get_json() == first, "the secret changed on read"
    for url in UNSAFE:
        refused = client.put("/api/auth/webhook", json={"url": url})
        assert refused.status_code == 400 and refused.get_json()["field"] == "url", url
    saved = client.put("/api/auth/webhook", json={"url": "https://93.184.215.14/hooks"})
    assert saved.status_code == 200
    assert saved.get_json() == {"url": "https://93.184.215.14/hooks", "secret": first["secret"]}
    rotated = client.post("/api/auth/webhook/rotate-secret").get_json()
    assert rotated["secret"] != first["secret"] and rotated["url"] == saved.get_json()["url"]
    cleared = client.delete("/api/auth/webhook").get_json()
    assert cleared == {"url": None, "secret": rotated["secret"]}


def test_settings_need_a_login_when_auth_is_required(tmp_path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    try:
        answer = app.test_client().get("/api/auth/webhook")
        assert answer.status_code == 401 and answer.get_json()["error"] == "AUTH_REQUIRED"
    finally:
        close_app(app)


def test_the_default_url_is_used_and_only_for_its_owner(hook_app, receiver):
    client = hook_app.test_client()
    alice = bearer(register(client, "alice")["access_token"])
    bob = bearer(register(client, "bobby")["access_token"])
    receiver.secret = secret_of(client, alice)
    assert secret_of(client, bob) != receiver.secret
    put = client.put("/api/auth/webhook", json={"url": receiver.url}, headers=alice)
    assert put.status_code == 200, put.get_json()
    bobs = ended_job(client, None, headers=bob)
    alices = ended_job(client, None, headers=alice)
    webhook_dispatch.deliver_due(hook_app)
    [delivery] = receiver.received
    assert delivery.problem is None, delivery.problem
    assert delivery.event["data"]["job_id"] == alices
    bobs_view = client.get(f"/api/progress/{bobs}", headers=bob).get_json()
    assert "webhook" not in bobs_view
    alices_view = client.get(f"/api/progress/{alices}", headers=alice).get_json()
    assert alices_view["webhook"]["status"] == "delivered"
    assert alices_view["webhook"]["url"] == receiver.url


def test_a_script_render_takes_a_webhook_too(client):
    script_id = client.post("/api/scripts", json={"title": "T", "text": "One."}).get_json()["id"]
    refused = client.post(f"/api/scripts/{script_id}/render", json={"webhook_url": UNSAFE[1]})
    assert refused.status_code == 400 and refused.get_json()["field"] == "webhook_url"
    client.put("/api/auth/webhook", json={"url": "https://93.184.215.14/hooks"})
    rendered = client.post(f"/api/scripts/{script_id}/render", json={"voice_id": "espeak_male"})
    assert rendered.status_code == 202, rendered.get_json()
    job_id = rendered.get_json()["job_id"]
    view = client.get(f"/api/progress/{job_id}").get_json()
    assert view["webhook"]["url"] == "https://93.184.215.14/hooks"
