"""Scripts as resources: write, edit, render and re-render, through a real server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from sora_app import create_app
from sora_app.pipeline.probe import probe
from tests.api.test_auth import bearer, register
from tests.conftest import app_config, close_app, serve, wait_for_job

NEW_LINE = "Then the lamp went dark, and slow footsteps climbed the iron stairs below."


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("scripts")
    yield from serve(tmp, SORA_JOB_WORKERS="1")


def _scenes_of(script: dict) -> list[dict]:
    return [{k: v for k, v in s.items() if k != "index"} for s in script["scenes"]]


def test_write_edit_render_and_rerender_only_the_edited_scene(server, tmp_path):
    api = requests.Session()
    made = api.post(f"{server}/api/scripts", json={
        "topic": "The Vanishing Lighthouse", "story_type": "scary_horror",
        "duration": 0.3, "num_scenes": 3, "seed": 5,
    }, timeout=30)  # fmt: skip
    assert made.status_code == 201, made.text
    script = made.json()
    assert script["version"] == 1 and len(script["scenes"]) == 3
    assert all(scene["narration"] for scene in script["scenes"])
    listed = api.get(f"{server}/api/scripts", timeout=10).json()
    assert listed["total"] >= 1 and script["id"] in [s["id"] for s in listed["scripts"]]

    def render() -> dict:
        answer = api.post(f"{server}/api/scripts/{script['id']}/render",
                          json={"voice_id": "espeak_male", "music": True}, timeout=10)  # fmt: skip
        assert answer.status_code == 202 and answer.json()["status"] == "generating", answer.text
        done = wait_for_job(lambda url: api.get(server + url, timeout=10).json(),
                            answer.json()["job_id"], timeout=240)  # fmt: skip
        assert done["status"] == "complete", done
        return done

    first = render()
    assert f"from script {script['id']} version 1" in first["details"]

    scenes = _scenes_of(script)
    scenes[1]["narration"] = NEW_LINE
    edited = api.patch(f"{server}/api/scripts/{script['id']}",
                       json={"scenes": scenes, "base_version": 1}, timeout=10)  # fmt: skip
    assert edited.status_code == 200 and edited.json()["version"] == 2, edited.text
    stale = api.patch(f"{server}/api/scripts/{script['id']}",
                      json={"title": "Another", "base_version": 1}, timeout=10)  # fmt: skip
    assert stale.status_code == 409 and stale.json()["error"] == "VERSION_CONFLICT"

    second = render()
    assert "version 2" in second["details"]
    reused = re.search(r"(\d+) of (\d+) segments reused", second["details"])
    assert reused and reused.groups() == ("2", "5"), second["details"]  # scenes 1 and 3 kept
    video = api.get(f"{server}{second['video_url']}", timeout=30)
    path = tmp_path / "second.mp4"
    path.write_bytes(video.content)
    info = probe(path)
    assert abs(info.duration - second["duration"]) < 0.1 and info.duration > 5
    original = api.get(f"{server}/api/scripts/{script['id']}?version=1", timeout=10).json()
    assert original["scenes"][1]["narration"] == script["scenes"][1]["narration"]
    assert api.delete(f"{server}/api/scripts/{script['id']}", timeout=10).status_code == 204
    assert api.get(f"{server}/api/scripts/{script['id']}", timeout=10).status_code == 404
    assert api.get(f"{server}{first['video_url']}", timeout=30).status_code == 200


@pytest.fixture
def strict(tmp_path: Path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    yield app.test_client()
    close_app(app)


def test_another_users_script_is_as_good_as_missing(strict):
    ana = bearer(register(strict, "ana")["access_token"])
    ben = bearer(register(strict, "ben")["access_token"])
    made = strict.post("/api/scripts", json={"title": "Mine", "text": "One line."}, headers=ana)
    script_id = made.get_json()["id"]
    for method, url, body in [
        ("get", f"/api/scripts/{script_id}", None),
        ("patch", f"/api/scripts/{script_id}", {"title": "Stolen"}),
        ("delete", f"/api/scripts/{script_id}", None),
        ("post", f"/api/scripts/{script_id}/render", {}),
    ]:
        answer = getattr(strict, method)(url, json=body, headers=ben)
        assert answer.status_code == 404, (method, answer.get_json())
        assert answer.get_json()["error"] == "SCRIPT_NOT_FOUND"
    assert strict.get("/api/scripts", headers=ben).get_json()["total"] == 0
    assert strict.get("/api/scripts").status_code == 401
    assert strict.get(f"/api/scripts/{script_id}", headers=ana).get_json()["title"] == "Mine"


def test_own_text_is_split_into_scenes_at_sentence_ends(client):
    sentence = "The keeper counted every step on the way up to the lamp room tonight. "
    text = "A short opening.\n\n" + sentence * 8
    script = client.post("/api/scripts", json={"title": "Steps", "text": text}).get_json()
    narrations = [scene["narration"] for scene in script["scenes"]]
    assert narrations[0] == "A short opening."
    assert len(narrations) >= 3 and all(len(n.split()) <= 45 for n in narrations[1:])
    assert " ".join(narrations[1:]) == (sentence * 8).strip()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topic": "A", "text": "B"}, ""),
        ({"text": "No title given."}, ""),
        ({"title": "T", "scenes": []}, "scenes"),
        ({"title": "T", "scenes": [{"narration": ""}]}, "scenes[0].narration"),
        ({"title": "T", "scenes": [{"narration": "x", "colour": "red"}]}, "scenes[0].colour"),
        ({"title": "T", "text": "   \n\n  "}, "text"),
        ({"topic": "A", "story_type": "opera"}, "story_type"),
    ],
)
def test_bad_scripts_are_400s_that_name_the_field(client, body, field):
    answer = client.post("/api/scripts", json=body)
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"] == "VALIDATION_ERROR"
    assert answer.get_json().get("field", "") == field


def test_render_options_are_checked_like_a_job_request(client):
    script_id = client.post("/api/scripts", json={"title": "T", "text": "One."}).get_json()["id"]
    cases = [
        ({"voice_id": "nobody"}, "voice_id"),
        ({"topic": "x"}, "topic"),
        ({"version": 0}, "version"),
        ({"aspect_ratio": "2:1"}, "aspect_ratio"),
    ]
    for body, field in cases:
        answer = client.post(f"/api/scripts/{script_id}/render", json=body)
        assert answer.status_code == 400 and answer.get_json()["field"] == field, answer.get_json()
    missing = client.post(f"/api/scripts/{script_id}/render", json={"version": 9})
    assert missing.status_code == 404 and missing.get_json()["error"] == "VERSION_NOT_FOUND"


def test_a_long_script_renders_with_every_scene(client):
    """40 one-line scenes: more than a default 1-minute job allows (30); the render sizes
    the job from the script instead of refusing it."""
    scenes = [{"narration": f"Scene number {n} has one short line."} for n in range(40)]
    made = client.post("/api/scripts", json={"title": "Many", "scenes": scenes}).get_json()
    answer = client.post(f"/api/scripts/{made['id']}/render", json={"voice_id": "espeak_male"})
    assert answer.status_code == 202, answer.get_json()
    job = client.get(f"/api/progress/{answer.get_json()['job_id']}").get_json()
    assert job["status"] == "generating"


def test_a_short_form_platform_writes_a_stronger_hook_and_a_faster_read(client):
    def scenes(**extra) -> list[str]:
        body = {"topic": "The Vanishing Lighthouse", "seed": 3, "num_scenes": 3, **extra}
        answer = client.post("/api/scripts", json=body)
        assert answer.status_code == 201, answer.get_json()
        return [s["narration"] for s in answer.get_json()["scenes"]]

    assert scenes(platform="tiktok") == scenes(hook_intensity="high", pacing="fast")
    assert scenes(platform="tiktok") != scenes()
    assert scenes(platform="youtube") == scenes()
    assert scenes(platform="reels", hook_intensity="low") == scenes(
        hook_intensity="low", pacing="fast")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"topic": "Der Leuchtturm", "language": "de"}, "LANGUAGE_NEEDS_SCRIPT_MODEL"),
        ({"topic": "x", "language": "German"}, "VALIDATION_ERROR"),
        ({"topic": "x", "platform": "myspace"}, "VALIDATION_ERROR"),
    ],
)
def test_languages_beyond_english_need_the_script_model(client, body, code):
    answer = client.post("/api/scripts", json=body)
    assert answer.status_code == 400 and answer.get_json()["error"] == code, answer.get_json()
    assert answer.get_json()["field"] in ("language", "platform")


def test_a_job_may_name_only_its_owners_script_version(client):
    """script_ref is what the library shows and what a render pins its pieces under."""
    mine = client.post("/api/scripts", json={"title": "T", "text": "One line."}).get_json()
    body = {"topic": "x", "duration": 0.2, "voice_id": "espeak_male"}
    for ref in ({"id": "nosuchscript", "version": 1}, {"id": mine["id"], "version": 2},
                {"id": "../../pins/x", "version": 1}):  # fmt: skip
        answer = client.post("/api/generate-video", json={**body, "script_ref": ref})
        assert answer.status_code == 400 and answer.get_json()["field"].startswith("script_ref")
    ok = client.post(
        "/api/generate-video", json={**body, "script_ref": {"id": mine["id"], "version": 1}}
    )
    assert ok.status_code == 202, ok.get_json()


def test_held_scenes_may_not_outlast_the_longest_video(client):
    scenes = [{"narration": f"Scene {n}.", "duration": 120} for n in range(6)]
    answer = client.post("/api/scripts", json={"title": "Long", "scenes": scenes})
    assert answer.status_code == 400 and "600" in answer.get_json()["message"]
    made = client.post("/api/scripts", json={"title": "Short", "scenes": scenes[:2]})
    patched = client.patch(f"/api/scripts/{made.get_json()['id']}", json={"scenes": scenes})
    assert patched.status_code == 400 and "600" in patched.get_json()["message"]
