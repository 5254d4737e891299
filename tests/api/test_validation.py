"""Every field of POST /api/generate-video is validated with a clear 400 in the error shape."""

from __future__ import annotations

import os

import pytest

from sora_app.extensions import db
from sora_app.models import Job
from tests.conftest import local_uploads

VALID = {"topic": "The Vanishing Lighthouse"}


def post(client, body):
    return client.post("/api/generate-video", json=body)


def assert_bad(response, field: str | None, *needles: str) -> dict:
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] in ("VALIDATION_ERROR", "INVALID_JSON")
    assert body.get("field") == field
    for needle in needles:
        assert needle in body["message"], body["message"]
    return body


BAD_FIELDS = [
    ({}, "topic", "required"),
    ({"topic": ""}, "topic", "at least 1"),
    ({"topic": "   "}, "topic", "at least 1"),
    ({"topic": "x" * 201}, "topic", "at most 200"),
    ({"topic": 5}, "topic", "string"),
    ({"story_type": "opera"}, "story_type", "scary_horror", "mystery"),
    ({"story_type": 3}, "story_type", "string"),
    ({"image_style": "crayon"}, "image_style", "cinematic", "watercolor"),
    ({"image_mode": "psychic"}, "image_mode", "ai_only", "manual_only"),
    ({"voice_id": "barry_white"}, "voice_id", "male_narrator_deep"),
    ({"duration": 0}, "duration", "greater than or equal to 0.1"),
    ({"duration": 11}, "duration", "less than or equal to 10"),
    ({"duration": "five"}, "duration", "number"),
    ({"duration": True}, "duration", "number"),
    ({"hook_intensity": "nuclear"}, "hook_intensity", "extreme"),
    ({"pacing": "glacial"}, "pacing", "dynamic"),
    ({"num_scenes": 0}, "num_scenes", "greater than or equal to 1"),
    ({"num_scenes": 51, "duration": 5}, "num_scenes", "less than or equal to 50"),
    ({"num_scenes": 2.5}, "num_scenes", "integer"),
    ({"num_scenes": "three"}, "num_scenes", "integer"),
    ({"num_scenes": 10, "duration": 0.1}, "num_scenes", "at most 3"),
    ({"characters": "Sarah"}, "characters", "list"),
    ({"characters": [{"description": "tall"}]}, "characters[0].name", "required"),
    ({"characters": [{"name": "S", "age": 3}]}, "characters[0].age", "not permitted"),
    ({"characters": [{"name": "x" * 41}]}, "characters[0].name", "at most 40"),
    ({"characters": [{"name": f"c{i}"} for i in range(11)]}, "characters", "at most 10"),
    ({"manual_image_paths": "a.png"}, "manual_image_paths", "list"),
    ({"image_mode": "manual_only"}, "manual_image_paths", "at least one"),
    ({"stock_keywords": [""]}, "stock_keywords[0]", "at least 1"),
    ({"stock_keywords": [f"k{i}" for i in range(21)]}, "stock_keywords", "at most 20"),
    ({"aspect_ratio": "4:3"}, "aspect_ratio", "9:16", "16:9"),
    ({"music": "yes"}, "music", "boolean"),
    ({"music_mood": "sad"}, "music_mood", "calm", "playful"),
    ({"music_volume": 7}, "music_volume", "less than or equal to 6"),
    ({"music_volume": "loud"}, "music_volume", "number"),
    ({"subtitles": 1}, "subtitles", "boolean"),
    ({"seed": -1}, "seed", "greater than or equal to 0"),
]


@pytest.mark.parametrize(("extra", "field", "needles"), [(b[0], b[1], b[2:]) for b in BAD_FIELDS])
def test_bad_field_is_a_clear_400(client, extra, field, needles):
    body = {**VALID, **extra} if field != "topic" else extra
    assert_bad(post(client, body), field, *needles)


def test_no_job_is_created_for_bad_input(client, app):
    post(client, {"topic": "x", "num_scenes": 0})
    with app.app_context():
        assert db.session.query(Job).count() == 0


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"topic"', b"null", b""])
def test_body_must_be_a_json_object(client, raw):
    response = client.post(
        "/api/generate-video", data=raw, headers={"Content-Type": "application/json"}
    )
    body = assert_bad(response, None)
    assert body["error"] == "INVALID_JSON"


def test_json_without_content_type_is_understood(client):
    response = client.post("/api/generate-video", data=b'{"topic": "Curl users"}')
    assert response.status_code == 202


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd.png",
        "/etc/passwd",
        "/tmp/x.png",
        "sub/../../x.png",
        "a\\..\\b.png",
        "notes.txt",
        "missing.png",
        "nul\x00.png",
        "é" * 130 + ".jpg",
    ],
)
def test_manual_paths_never_leave_uploads(client, path):
    body = {**VALID, "image_mode": "manual_only", "manual_image_paths": [path]}
    assert_bad(post(client, body), "manual_image_paths[0]")


def test_symlink_out_of_uploads_is_refused(client, app, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG secret")
    os.symlink(outside, local_uploads(app) / "link.png")
    body = {**VALID, "image_mode": "manual_only", "manual_image_paths": ["link.png"]}
    assert_bad(post(client, body), "manual_image_paths[0]", "inside the uploads folder")


def test_uploaded_file_is_accepted(client, app):
    (local_uploads(app) / "beach.png").write_bytes(b"\x89PNG")
    body = {**VALID, "image_mode": "mixed", "manual_image_paths": ["uploads/beach.png"]}
    assert post(client, body).status_code == 202


def test_valid_request_is_committed_with_defaults_and_normalised_enums(client, app):
    body = {
        "topic": "  The Vanishing Lighthouse ",
        "story_type": "Scary-Horror",
        "characters": None,
        "stock_keywords": ["lighthouse", "ocean"],
        "unknown_future_field": {"ignored": True},
    }
    response = post(client, body)
    assert response.status_code == 202
    payload = response.get_json()
    assert payload["status"] == "generating"
    with app.app_context():
        job = db.session.get(Job, payload["job_id"])
        assert job is not None and job.status == "queued"
        stored = job.request
    assert stored["topic"] == "The Vanishing Lighthouse"
    assert stored["story_type"] == "scary_horror"
    assert stored["characters"] == []
    assert stored["voice_id"] == "male_narrator_deep"
    assert isinstance(stored["seed"], int)
    assert "unknown_future_field" not in stored


def test_full_queue_is_429_with_retry_after(client, app):
    for _ in range(app.config["JOB_QUEUE_LIMIT"]):
        assert post(client, VALID).status_code == 202
    response = post(client, VALID)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"] == "QUEUE_FULL"


def test_absurdly_deep_json_is_a_400_not_a_500(client):
    raw = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/api/generate-video", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"] == "INVALID_JSON"


def test_unset_num_scenes_fits_a_short_duration(client, app):
    response = post(client, {"topic": "short", "duration": 0.15})
    assert response.status_code == 202
    with app.app_context():
        assert db.session.get(Job, response.get_json()["job_id"]).request["num_scenes"] == 4


@pytest.mark.parametrize(
    ("path", "body", "field", "stored"),
    [
        ("/api/generate-video", {"topic": "x", "duration": "0.2"}, "duration", 0.2),
        (
            "/api/generate-video",
            {"topic": "x", "duration": 0.5, "num_scenes": "3"},
            "num_scenes",
            3,
        ),
        ("/api/video/tasks", {"prompt": "x", "duration": "8"}, "seconds", 8),
        ("/api/video/tasks", {"prompt": "x", "duration": 8}, "seconds", 8),
    ],
)
def test_numbers_may_come_as_decimal_text_on_every_surface(client, app, path, body, field, stored):
    """One rule: a JSON number or its decimal text (forms send text), nothing else."""
    response = client.post(path, json=body)
    assert response.status_code in (201, 202), response.get_json()
    with app.app_context():
        job = db.session.scalars(db.select(Job).order_by(Job.created_at.desc())).first()
        assert job.request[field] == stored


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/generate-video", {"topic": "x", "duration": "1e309"}, "duration"),
        ("/api/generate-video", {"topic": "x", "duration": "nan"}, "duration"),
        ("/api/generate-video", {"topic": "x", "duration": True}, "duration"),
        ("/api/generate-video", {"topic": "x", "num_scenes": "3.5"}, "num_scenes"),
        ("/api/video/tasks", {"prompt": "x", "duration": "1e3"}, "duration"),
        ("/api/video/tasks", {"prompt": "x", "duration": 8.5}, "duration"),
        ("/api/video/tasks", {"prompt": "x", "duration": True}, "duration"),
    ],
)
def test_anything_else_for_a_number_is_a_400_naming_it(client, path, body, field):
    response = client.post(path, json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_infinity_is_refused_by_name_not_by_a_crash(client):
    raw = '{"topic": "x", "duration": 1e309, "music_volume": -1e309}'
    response = client.post("/api/generate-video", data=raw, content_type="application/json")
    body = response.get_json()
    assert response.status_code == 400 and body["field"] in ("duration", "music_volume")
    assert "finite" in body["message"]


def test_unknown_fields_are_accepted_and_listed(client):
    body = {"topic": "x", "duration": 0.2, "voice": "espeak_male", "callback_url": None}
    answer = client.post("/api/generate-video", json=body).get_json()
    assert answer["status"] == "generating" and answer["ignored_fields"] == ["voice"]
    plain = client.post("/api/generate-video", json={"topic": "x", "duration": 0.2}).get_json()
    assert "ignored_fields" not in plain
    task = client.post("/api/video/tasks", json={"prompt": "x", "colour": "red"}).get_json()
    assert task["data"]["ignoredFields"] == ["colour"]
