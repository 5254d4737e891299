"""Accounts and ownership: tokens, revocation, auth modes, and other users' jobs as 404s."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from sora_app import create_app, tokens
from tests.api.test_contract import publish
from tests.conftest import app_config


def register(client, username="alice", password="correct horse", email=None):
    body = {"username": username, "password": password}
    if email:
        body["email"] = email
    response = client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_register_login_me_refresh(client):
    created = register(client, email="alice@example.com")
    assert created["token_type"] == "Bearer" and created["user"]["username"] == "alice"
    for login in ("alice", "alice@example.com"):
        tokens = client.post(
            "/api/auth/login", json={"username": login, "password": "correct horse"}
        ).get_json()
        assert tokens["access_token"]
    me = client.get("/api/auth/me", headers=bearer(tokens["access_token"])).get_json()
    assert me["username"] == "alice" and "password_hash" not in me
    fresh = client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert fresh.status_code == 200
    assert (
        client.get("/api/auth/me", headers=bearer(fresh.get_json()["access_token"])).status_code
        == 200
    )


def test_refresh_needs_a_refresh_token(client):
    tokens = register(client)
    response = client.post("/api/auth/refresh", headers=bearer(tokens["access_token"]))
    assert response.status_code in (401, 422)
    assert set(response.get_json()) >= {"error", "message"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ab", "password": "long enough"}, "username"),
        ({"username": "has space", "password": "long enough"}, "username"),
        ({"username": "bob", "password": "short"}, "password"),
        ({"username": "bob", "password": "long enough", "email": "nope"}, "email"),
        ({"username": "bob"}, "password"),
    ],
)
def test_register_validation(client, body, field):
    response = client.post("/api/auth/register", json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_duplicate_user_is_409(client):
    register(client)
    again = client.post("/api/auth/register", json={"username": "alice", "password": "x" * 10})
    assert again.status_code == 409 and again.get_json()["error"] == "USER_EXISTS"


def test_login_errors_do_not_say_which_part_was_wrong(client):
    register(client)
    wrong_password = client.post("/api/auth/login", json={"username": "alice", "password": "nope"})
    wrong_user = client.post("/api/auth/login", json={"username": "mallory", "password": "nope"})
    assert wrong_password.status_code == wrong_user.status_code == 401
    assert wrong_password.get_json() == wrong_user.get_json()


def test_logout_revokes_access_and_refresh_tokens(client):
    tokens = register(client)
    out = client.post(
        "/api/auth/logout",
        headers=bearer(tokens["access_token"]),
        json={"refresh_token": tokens["refresh_token"]},
    )
    assert out.status_code == 200
    me = client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401 and me.get_json()["error"] == "TOKEN_REVOKED"
    refresh = client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refresh.status_code == 401 and refresh.get_json()["error"] == "TOKEN_REVOKED"


def test_expired_and_garbage_tokens_are_401_in_the_error_shape(client, app):
    user_id = register(client)["user"]["id"]
    with app.app_context():
        sid = tokens.start_session(user_id)
        expired = create_access_token(
            identity=user_id, additional_claims={"sid": sid}, expires_delta=timedelta(seconds=-5)
        )
    response = client.get("/api/progress", headers=bearer(expired))
    assert response.status_code == 401 and response.get_json()["error"] == "TOKEN_EXPIRED"
    garbage = client.get("/api/progress", headers=bearer("not.a.token"))
    assert garbage.status_code == 401 and garbage.get_json()["error"] == "TOKEN_INVALID"


def test_open_mode_without_token_is_the_local_user(client):
    assert client.get("/api/auth/me").get_json()["id"] == "local"
    assert client.post("/api/generate-video", json={"topic": "t"}).status_code == 202


def test_required_mode_needs_a_token_except_for_health_and_auth(tmp_path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    client = app.test_client()
    denied = client.post("/api/generate-video", json={"topic": "t"})
    assert denied.status_code == 401 and denied.get_json()["error"] == "AUTH_REQUIRED"
    assert client.get("/api/progress").status_code == 401
    assert client.get("/health").status_code == 200
    tokens = register(client)
    ok = client.post(
        "/api/generate-video", json={"topic": "t"}, headers=bearer(tokens["access_token"])
    )
    assert ok.status_code == 202
    preflight = client.options(
        "/api/generate-video",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200


def test_other_users_jobs_are_404_everywhere(client, app):
    alice = bearer(register(client, "alice")["access_token"])
    bob = bearer(register(client, "bob")["access_token"])
    job_id = client.post("/api/generate-video", json={"topic": "t"}, headers=alice).get_json()[
        "job_id"
    ]
    assert client.get(f"/api/progress/{job_id}", headers=alice).status_code == 200
    assert client.get(f"/api/progress/{job_id}", headers=bob).status_code == 404
    assert client.get(f"/api/progress?job_id={job_id}", headers=bob).status_code == 404
    assert client.get("/api/progress", headers=bob).get_json()["status"] == "idle"
    assert client.get("/api/progress").get_json()["status"] == "idle"  # the local user, too
    assert client.post(f"/api/jobs/{job_id}/cancel", headers=bob).status_code == 404

    (app.config["VIDEOS_DIR"] / "video_alice.mp4").write_bytes(b"alice's video")
    alice_id = client.get("/api/auth/me", headers=alice).get_json()["id"]
    publish(app, "video_alice.mp4", owner=alice_id)
    assert client.get("/api/video/video_alice.mp4", headers=alice).status_code == 200
    assert client.get("/api/video/video_alice.mp4", headers=bob).status_code == 404
    assert client.get("/api/video/video_alice.mp4").status_code == 404


def test_media_token_opens_video_urls_but_access_tokens_stay_out_of_urls(client, app):
    tokens = register(client, "alice")
    alice = bearer(tokens["access_token"])
    alice_id = client.get("/api/auth/me", headers=alice).get_json()["id"]
    (app.config["VIDEOS_DIR"] / "video_m.mp4").write_bytes(b"bytes")
    publish(app, "video_m.mp4", owner=alice_id)
    media = client.post("/api/auth/media-token", headers=alice).get_json()["token"]
    assert client.get(f"/api/video/video_m.mp4?token={media}").status_code == 200
    in_url = client.get(f"/api/video/video_m.mp4?token={tokens['access_token']}")
    assert in_url.status_code == 401
    as_header = client.get("/api/progress", headers=bearer(media))
    assert as_header.status_code == 401, "a media token is not an access token"
