"""Token rules found by attacking the service: each test failed before its fix."""

from __future__ import annotations

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token

from sora_app import create_app
from sora_app.config import SECRET_FILE, ConfigError, load_settings
from tests.api.test_auth import bearer, register
from tests.api.test_contract import publish
from tests.conftest import app_config

OLD_DEV_KEY = "dev-only-secret-not-for-production-use-0000"
"""The signing key that used to sit in the source for development servers."""


@pytest.fixture
def strict(tmp_path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    return app, app.test_client()


def _media(client, access: str) -> str:
    response = client.post("/api/auth/media-token", headers=bearer(access))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def _video_of(app, client, access: str, name: str = "video_t.mp4") -> str:
    owner = client.get("/api/auth/me", headers=bearer(access)).get_json()["id"]
    (app.config["VIDEOS_DIR"] / name).write_bytes(b"video bytes")
    publish(app, name, owner=owner)
    return f"/api/video/{name}"


def test_a_media_token_is_no_access_token_anywhere(strict):
    _app, client = strict
    access = register(client)["access_token"]
    media = _media(client, access)
    for method, path in (
        ("get", "/api/auth/me"),
        ("post", "/api/auth/media-token"),
        ("post", "/api/auth/logout"),
        ("post", "/api/auth/refresh"),
        ("get", "/api/progress"),
    ):
        response = getattr(client, method)(path, headers=bearer(media))
        assert response.status_code in (401, 422), (path, response.get_json())
    assert client.get("/api/auth/me", headers=bearer(access)).status_code == 200


def test_logout_ends_the_whole_session(strict):
    app, client = strict
    tokens = register(client)
    url = _video_of(app, client, tokens["access_token"])
    media = _media(client, tokens["access_token"])
    assert client.get(f"{url}?token={media}").status_code == 200
    out = client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 200
    refresh = client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refresh.status_code == 401 and refresh.get_json()["error"] == "TOKEN_REVOKED"
    after = client.get(f"{url}?token={media}")
    assert after.status_code == 401 and after.get_json()["error"] == "TOKEN_REVOKED"
    events = client.get(f"/api/events?token={media}")
    assert events.status_code == 401


def test_logout_leaves_other_sessions_alone(strict):
    _app, client = strict
    register(client)
    first = client.post("/api/auth/login", json={"username": "alice", "password": "correct horse"})
    second = client.post("/api/auth/login", json={"username": "alice", "password": "correct horse"})
    client.post("/api/auth/logout", headers=bearer(first.get_json()["access_token"]))
    assert (
        client.get("/api/auth/me", headers=bearer(second.get_json()["access_token"])).status_code
        == 200
    )


def test_a_token_without_a_type_claim_is_refused(strict):
    app, client = strict
    access = register(client)["access_token"]
    claims = pyjwt.decode(access, options={"verify_signature": False})
    del claims["type"]
    untyped = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    response = client.get("/api/progress", headers=bearer(untyped))
    assert response.status_code == 401 and response.get_json()["error"] == "TOKEN_INVALID"
    assert client.get("/api/auth/me", headers=bearer(untyped)).status_code == 401


def test_a_token_from_no_login_session_is_refused(strict):
    app, client = strict
    user_id = register(client)["user"]["id"]
    with app.app_context():
        orphan = create_access_token(identity=user_id, additional_claims={"sid": "made-up"})
        no_sid = create_access_token(identity=user_id)
    for token in (orphan, no_sid):
        assert client.get("/api/progress", headers=bearer(token)).status_code == 401


def test_development_key_is_random_per_instance_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SORA_SECRET_KEY", raising=False)
    keys = []
    for name in ("one", "two", "one"):
        monkeypatch.setenv("SORA_INSTANCE_DIR", str(tmp_path / name))
        keys.append(load_settings().JWT_SECRET_KEY)
    assert keys[0] == keys[2] != keys[1], "kept per instance, different between instances"
    assert len(keys[0]) >= 32 and OLD_DEV_KEY not in keys
    assert (tmp_path / "one" / SECRET_FILE).stat().st_mode & 0o077 == 0, "readable by owner only"


def test_a_token_signed_with_the_old_source_key_is_refused(client):
    register(client)
    claims = {"sub": "../../etc", "type": "access", "sid": "x", "jti": "j", "exp": 2**40}
    forged = pyjwt.encode(claims, OLD_DEV_KEY, algorithm="HS256")
    response = client.get("/api/uploads", headers=bearer(forged))
    assert response.status_code == 401 and response.get_json()["error"] == "TOKEN_INVALID"


def test_required_mode_refuses_to_start_without_a_secret(monkeypatch):
    monkeypatch.delenv("SORA_SECRET_KEY", raising=False)
    monkeypatch.setenv("SORA_AUTH_MODE", "required")
    with pytest.raises(ConfigError, match="SORA_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("SORA_SECRET_KEY", "k" * 40)
    assert load_settings().AUTH_MODE == "required"
