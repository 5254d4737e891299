"""Accounts, the creator studio and the event streams answer as the OpenAPI document says."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sora_app import create_app
from tests.conftest import app_config, close_app, png_bytes

from .openapi_check import Documented
from .test_openapi import finished_jobs


@pytest.fixture
def documented(tmp_path: Path):
    app = create_app({**app_config(tmp_path), "JOB_QUEUE_LIMIT": 100})
    yield Documented(app, app.test_client())
    close_app(app)


def test_accounts_answers_match(documented):
    call = documented.call
    user = {"username": "alice", "password": "correct horse"}
    tokens = call("POST", "/api/auth/register", 201, json=user).get_json()
    call("POST", "/api/auth/register", 409, json=user)
    call("POST", "/api/auth/register", 400, json={"username": "a"})
    call("POST", "/api/auth/login", 401, json={"username": "alice", "password": "wrong one"})
    tokens = call("POST", "/api/auth/login", 200, json=user).get_json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    call("POST", "/api/auth/refresh", 200,
         headers={"Authorization": f"Bearer {tokens['refresh_token']}"})  # fmt: skip
    call("GET", "/api/auth/me", 200, headers=bearer)
    call("GET", "/api/auth/me", 200)
    call("GET", "/api/auth/me", 401, headers={"Authorization": "Bearer not.a.token"})
    call("POST", "/api/auth/media-token", 200, headers=bearer)
    key = call("POST", "/api/auth/api-keys", 201, headers=bearer, json={"name": "ci"}).get_json()
    call("GET", "/api/auth/api-keys", 200, headers=bearer)
    by_key = {"Authorization": f"Bearer {key['key']}"}
    call("POST", "/api/auth/api-keys", 403, headers=by_key, json={"name": "no"})
    call("DELETE", f"/api/auth/api-keys/{key['id']}", 204, headers=bearer)
    call("DELETE", f"/api/auth/api-keys/{key['id']}", 404, headers=bearer)
    call("GET", "/api/auth/webhook", 200, headers=bearer)
    call("PUT", "/api/auth/webhook", 400, headers=bearer, json={"url": "http://127.0.0.1/x"})
    call("POST", "/api/auth/webhook/rotate-secret", 200, headers=bearer)
    call("DELETE", "/api/auth/webhook", 200, headers=bearer)
    call("POST", "/api/auth/logout", 200, headers=bearer)
    call("GET", "/api/auth/me", 401, headers=bearer)


def test_studio_answers_match(documented):
    call = documented.call
    done, _bad = finished_jobs(documented.app)
    script = call("POST", "/api/scripts", 201, json={"topic": "The Lost Key", "num_scenes": 2,
                                                     "duration": 0.2}).get_json()  # fmt: skip
    call("POST", "/api/scripts", 400, json={"topic": "x", "text": "y"})
    sid = script["id"]
    call("GET", "/api/scripts", 200)
    call("GET", f"/api/scripts/{sid}?version=1", 200)
    call("GET", "/api/scripts/nope", 404)
    scenes = [{"narration": "A new first line."}, {"narration": "And a second one."}]
    call("PATCH", f"/api/scripts/{sid}", 200, json={"base_version": 1, "scenes": scenes})
    call("PATCH", f"/api/scripts/{sid}", 409, json={"base_version": 1, "title": "Late"})
    render = call("POST", f"/api/scripts/{sid}/render", 202, json={"voice_id": "espeak_male"})
    call("POST", f"/api/scripts/{sid}/render", 400, json={"topic": "no"})
    job = render.get_json()["job_id"]
    call("GET", "/api/videos?status=processing", 200)
    call("GET", f"/api/videos/{job}", 200)
    call("GET", f"/api/videos/{job}/scenes", 409)
    call("DELETE", f"/api/videos/{job}", 409)
    call("GET", f"/api/videos/{done}", 200)
    call("GET", "/api/videos?status=nope", 400)
    call("DELETE", f"/api/videos/video_{done}", 200)
    batch = call("POST", "/api/videos/bulk", 202, json={"topics": ["One", "Two"],
                                                       "duration": 0.2}).get_json()  # fmt: skip
    call("POST", "/api/videos/bulk", 400, json={"topics": []})
    call("GET", f"/api/videos/bulk/{batch['batch_id']}", 200)
    call("POST", f"/api/videos/bulk/{batch['batch_id']}/cancel", 200)
    call("GET", "/api/videos/bulk/nope", 404)
    call("DELETE", f"/api/scripts/{sid}", 204)


def test_media_library_answers_match(documented):
    call = documented.call
    image = {"file": (io.BytesIO(png_bytes()), "p.png")}
    item = call("POST", "/api/media", 201, data=image, content_type="multipart/form-data")
    media_id = item.get_json()["id"]
    call("POST", "/api/media", 400, data={}, content_type="multipart/form-data")
    call("GET", "/api/media?kind=image", 200)
    call("GET", "/api/media?kind=video", 400)
    call("GET", f"/api/media/{media_id}", 200)
    call("GET", f"/api/media/{media_id}/content", 200)
    call("GET", f"/api/media/{media_id}/content", 206, headers={"Range": "bytes=0-9"})
    found = call("GET", "/api/media/stock?q=harbour&orientation=square", 200).get_json()
    call("GET", "/api/media/stock?orientation=round", 400)
    token = found["results"][0]["id"]
    call("GET", f"/api/media/stock/{token}/preview", 200)
    call("GET", "/api/media/stock/forged/preview", 404)
    call("POST", "/api/media/stock", 201, json={"id": token})
    call("POST", "/api/media/stock", 404, json={"id": "forged"})
    call("DELETE", f"/api/media/{media_id}", 204)
    call("GET", f"/api/media/{media_id}", 404)


def test_event_streams_match(documented):
    call = documented.call
    done, bad = finished_jobs(documented.app)
    stream = call("GET", f"/api/jobs/{done}/events", 200)
    assert b"event: complete" in stream.data
    assert b"event: error" in call("GET", f"/api/jobs/{bad}/events", 200).data
    call("GET", "/api/jobs/nope/events", 404)
    call("GET", "/api/events", 400, headers={"Last-Event-ID": "not an id"})
