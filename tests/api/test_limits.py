"""Rate limits and response headers: password guessing, floods, caches, 401 challenges."""

from __future__ import annotations

import pytest

from sora_app import create_app
from tests.api.test_auth import bearer, register
from tests.api.test_contract import publish
from tests.conftest import app_config
from tests.services import redis_url

PASSWORD = "correct horse"


def make_client(tmp_path, **config):
    app = create_app({**app_config(tmp_path), **config})
    return app, app.test_client()


def login(client, password: str, username: str = "alice", address: str = "127.0.0.1"):
    return client.post(
        "/api/auth/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_limited(response, window: int = 60) -> None:
    body = response.get_json()
    assert response.status_code == 429, body
    assert body["error"] == "RATE_LIMITED" and body["message"]
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= window + 1, "at most the window, rounded up"
    assert body["details"]["retry_after"] == wait


def test_password_guessing_is_stopped_even_before_the_right_password(tmp_path):
    _app, client = make_client(tmp_path, RATE_LIMIT_LOGIN="5 per minute")
    register(client, password=PASSWORD)
    for _ in range(5):
        assert login(client, "wrong guess").status_code == 401
    assert_limited(login(client, PASSWORD))


def test_guessing_one_account_from_many_addresses_is_stopped(tmp_path):
    _app, client = make_client(tmp_path, RATE_LIMIT_LOGIN="5 per minute")
    register(client, password=PASSWORD)
    for index in range(5):
        assert login(client, "wrong", address=f"10.0.0.{index}").status_code == 401
    assert_limited(login(client, PASSWORD, address="10.0.0.99"))
    other = login(client, "nope", username="bob", address="10.0.0.98")
    assert other.status_code == 401, "another account from a fresh address is not blocked"


def test_register_and_refresh_are_limited(tmp_path):
    _app, client = make_client(
        tmp_path, RATE_LIMIT_REGISTER="2 per hour", RATE_LIMIT_REFRESH="2 per minute"
    )
    tokens = register(client, "ann", password=PASSWORD)
    register(client, "ben", password=PASSWORD)
    third = client.post("/api/auth/register", json={"username": "cat", "password": PASSWORD})
    assert_limited(third, window=3600)
    for _ in range(2):
        ok = client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"]))
        assert ok.status_code == 200
    assert_limited(client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])))


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/generate-video", {"topic": "t"}), ("/api/video/tasks", {"prompt": "a lighthouse"})],
)
def test_job_creation_is_limited_per_caller_but_bad_requests_do_not_count(tmp_path, path, body):
    _app, client = make_client(tmp_path, RATE_LIMIT_SUBMIT="2 per minute")
    for _ in range(4):
        assert client.post(path, json={"duration": "x"}).status_code == 400
    for _ in range(2):
        assert client.post(path, json=body).status_code in (200, 201, 202)
    assert_limited(client.post(path, json=body))


def test_limits_are_shared_through_redis_when_configured(tmp_path):
    """Two server processes (two apps here) count together: guessing can't be spread over them."""
    config = {"RATE_LIMIT_LOGIN": "3 per minute", "RATELIMIT_STORAGE_URI": redis_url()}
    _one, first = make_client(tmp_path / "one", **config)
    _two, second = make_client(tmp_path / "two", **config)
    for client in (first, second, first):
        assert login(client, "wrong").status_code == 401  # no such user: still counted
    assert_limited(login(second, "wrong"))


def test_401s_say_how_to_authenticate(tmp_path):
    _app, client = make_client(tmp_path, AUTH_MODE="required")
    missing = client.get("/api/progress")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="sora_app"'
    bad = client.get("/api/progress", headers=bearer("not.a.token"))
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_owned_media_is_private_and_json_is_not_stored(client, app):
    (app.config["VIDEOS_DIR"] / "video_c.mp4").write_bytes(b"video bytes")
    publish(app, "video_c.mp4")
    media = client.get("/api/video/video_c.mp4")
    assert media.status_code == 200
    assert "private" in media.cache_control and not media.cache_control.public
    assert "Authorization" in media.vary
    ranged = client.get("/api/video/video_c.mp4", headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and "public" not in ranged.headers["Cache-Control"]
    for path in ("/api/progress", "/api/auth/me", "/api/video/tasks", "/health"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
