"""API keys: shown once, stored hashed, listed by prefix, revoked, accepted as a bearer."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from sora_app import create_app
from sora_app.api_keys import ApiKey
from sora_app.extensions import db
from tests.api.test_auth import bearer, register
from tests.api.test_contract import publish
from tests.conftest import app_config, close_app


@pytest.fixture
def strict(tmp_path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    yield app
    close_app(app)


def make_key(client, token: str, name: str = "laptop") -> dict:
    response = client.post("/api/auth/api-keys", json={"name": name}, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_key_is_shown_once_stored_hashed_and_works_as_a_bearer(strict):
    client = strict.test_client()
    token = register(client)["access_token"]
    made = make_key(client, token)
    raw = made["key"]
    assert raw.startswith("sk-sora-") and len(raw) > 40 and raw.startswith(made["prefix"])
    with strict.app_context():
        row = db.session.scalar(select(ApiKey).where(ApiKey.id == made["id"]))
        assert row.key_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert raw not in {row.key_hash, row.prefix}
    listed = client.get("/api/auth/api-keys", headers=bearer(token)).get_json()["api_keys"]
    assert [(k["id"], k["name"], k["prefix"], k["last_used_at"]) for k in listed] == [
        (made["id"], "laptop", made["prefix"], None)
    ]
    assert "key" not in listed[0] and "key_hash" not in listed[0]

    assert client.get("/api/videos", headers=bearer(raw)).status_code == 200
    assert client.get("/api/videos").status_code == 401  # required mode: the key is what let it in
    listed = client.get("/api/auth/api-keys", headers=bearer(token)).get_json()["api_keys"]
    assert listed[0]["last_used_at"] is not None


def test_a_key_acts_for_its_own_user_only(strict):
    client = strict.test_client()
    alice = register(client, "alice")["access_token"]
    bob = register(client, "bob")["access_token"]
    alice_key = make_key(client, alice)["key"]
    job = client.post("/api/generate-video", json={"topic": "A kite"}, headers=bearer(bob))
    job_id = job.get_json()["job_id"]
    assert client.get(f"/api/progress/{job_id}", headers=bearer(alice_key)).status_code == 404
    assert client.get(f"/api/progress/{job_id}", headers=bearer(bob)).status_code == 200
    me = client.get("/api/videos", headers=bearer(alice_key)).get_json()
    assert me["total"] == 0


def test_revoked_unknown_and_malformed_keys_are_401(strict):
    client = strict.test_client()
    token = register(client)["access_token"]
    made = make_key(client, token)
    assert (
        client.delete(f"/api/auth/api-keys/{made['id']}", headers=bearer(token)).status_code == 204
    )
    for raw in (made["key"], "sk-sora-" + "x" * 43, "sk-sora-\u00e9", "sk-sora-" + "y" * 300):
        answer = client.get("/api/videos", headers=bearer(raw))
        assert answer.status_code == 401 and answer.get_json()["error"] == "API_KEY_INVALID"
    assert client.get("/api/auth/api-keys", headers=bearer(token)).get_json()["api_keys"] == []
    again = client.delete(f"/api/auth/api-keys/{made['id']}", headers=bearer(token))
    assert again.status_code == 404


def test_open_mode_refuses_a_bad_key_too(client):
    answer = client.get("/api/videos", headers=bearer("sk-sora-not-a-real-key"))
    assert answer.status_code == 401 and answer.get_json()["error"] == "API_KEY_INVALID"


def test_another_users_key_cannot_be_revoked_and_keys_cannot_mint_keys(strict):
    client = strict.test_client()
    alice = register(client, "alice")["access_token"]
    bob = register(client, "bob")["access_token"]
    alices = make_key(client, alice)
    gone = client.delete(f"/api/auth/api-keys/{alices['id']}", headers=bearer(bob))
    assert gone.status_code == 404
    assert client.get("/api/videos", headers=bearer(alices["key"])).status_code == 200
    minted = client.post("/api/auth/api-keys", json={"name": "x"}, headers=bearer(alices["key"]))
    assert minted.status_code == 403 and minted.get_json()["error"] == "API_KEY_NOT_ALLOWED"
    assert client.get("/api/auth/api-keys").status_code == 401


def test_a_key_mints_media_tokens_that_end_with_the_key(strict):
    """A script (or the CLI's `open`) holding only a key can hand a player a working URL."""
    client = strict.test_client()
    token = register(client, "alice")["access_token"]
    made = make_key(client, token)
    owner = client.get("/api/auth/me", headers=bearer(token)).get_json()["id"]
    (strict.config["VIDEOS_DIR"] / "video_k.mp4").write_bytes(b"video bytes")
    publish(strict, "video_k.mp4", owner=owner)
    assert client.get("/api/video/video_k.mp4").status_code == 401

    minted = client.post("/api/auth/media-token", headers=bearer(made["key"]))
    assert minted.status_code == 200, minted.get_json()
    media = minted.get_json()["token"]
    assert client.get(f"/api/video/video_k.mp4?token={media}").data == b"video bytes"
    assert client.get("/api/videos", headers=bearer(media)).status_code == 401  # media URLs only

    client.delete(f"/api/auth/api-keys/{made['id']}", headers=bearer(token))
    assert client.get(f"/api/video/video_k.mp4?token={media}").status_code == 401
    again = client.post("/api/auth/media-token", headers=bearer(made["key"]))
    assert again.status_code == 401 and again.get_json()["error"] == "API_KEY_INVALID"


@pytest.mark.parametrize(
    ("body", "field"), [({}, "name"), ({"name": ""}, "name"), ({"name": "k", "x": 1}, "x")]
)
def test_bad_create_bodies_name_the_field(strict, body, field):
    client = strict.test_client()
    token = register(client)["access_token"]
    answer = client.post("/api/auth/api-keys", json=body, headers=bearer(token))
    assert answer.status_code == 400 and answer.get_json()["field"] == field


def test_operators_make_list_and_revoke_keys_with_flask_commands(tmp_path: Path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    register(app.test_client(), "olga")
    close_app(app)
    flask = str(Path(sys.executable).parent / "flask")
    env = {
        **os.environ,
        "SORA_INSTANCE_DIR": str(tmp_path / "instance"),
        "SORA_AUTH_MODE": "required",
    }
    env |= {"SORA_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SORA_SECRET_KEY": "k" * 40}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [flask, "--app", "sora_app", "api-keys", *args],
            env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2],
        )  # fmt: skip

    made = run("create", "--user", "olga", "--name", "cron")
    assert made.returncode == 0, made.stderr
    header, raw = made.stdout.strip().splitlines()
    key_id = header.split()[0].removeprefix("id=")
    assert raw.startswith("sk-sora-")
    assert "'cron'" in run("list", "--user", "olga").stdout
    assert run("create", "--user", "nobody", "--name", "x").returncode != 0
    assert _answer(tmp_path, raw) == 200
    assert run("revoke", "--user", "olga", key_id).stdout.strip() == f"revoked {key_id}"
    assert run("list", "--user", "olga").stdout.strip() == ""
    assert _answer(tmp_path, raw) == 401


def _answer(tmp_path: Path, raw: str) -> int:
    """What the server answers to `raw` as a bearer, from an app on the same database."""
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    try:
        return app.test_client().get("/api/videos", headers=bearer(raw)).status_code
    finally:
        close_app(app)
