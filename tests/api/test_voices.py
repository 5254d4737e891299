"""Voices an operator drops into instance/voices/, and every voice's spoken preview."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from sora_app import create_app
from sora_app.config import Upstream
from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.jobs.spec import JobSpec
from sora_app.pipeline.probe import probe
from sora_app.providers.piper_tts import packaged_model_paths
from sora_app.storage import voice_previews_dir, voices_dir
from tests.api.test_auth import bearer, register
from tests.conftest import app_config, close_app, wait_for_job

VOICE = "piper_en_us_tester_medium"
"""What `en_US-tester-medium.onnx` becomes."""


def drop_voice(app, stem: str = "en_US-tester-medium") -> Path:
    """Copy the packaged joe model and its config into the app's voices folder, renamed."""
    folder = voices_dir(app.config)
    folder.mkdir(parents=True, exist_ok=True)
    model, config = packaged_model_paths()
    shutil.copyfile(model, folder / f"{stem}.onnx")
    shutil.copyfile(config, folder / f"{stem}.onnx.json")
    return folder / f"{stem}.onnx"


def decoded(body: bytes, tmp_path: Path) -> tuple[float, np.ndarray]:
    """(seconds by the container, every decoded sample) of an MP3 answer."""
    path = tmp_path / "preview.mp3"
    path.write_bytes(body)
    info = probe(path)
    assert info.has_audio and (info.audio_codec or "").startswith("mp3") and not info.has_video
    with av.open(str(path)) as container:
        frames = [f.to_ndarray().ravel() for f in container.decode(audio=0)]
    return info.duration, np.concatenate(frames)


def test_a_dropped_in_voice_is_listed_and_bad_files_are_skipped(client, app, caplog):
    drop_voice(app)
    folder = voices_dir(app.config)
    (folder / "garbage.onnx").write_bytes(b"not a model at all")
    shutil.copyfile(folder / "en_US-tester-medium.onnx.json", folder / "garbage.onnx.json")
    (folder / "lonely.onnx").write_bytes(b"a model without its config")
    shutil.copyfile(folder / "en_US-tester-medium.onnx", folder / "bad_config.onnx")
    (folder / "bad_config.onnx.json").write_text('{"audio": "no"}')
    with caplog.at_level(logging.WARNING, logger="sora_app.pipeline.voice_catalog"):
        answer = client.get("/api/voices")
    assert answer.status_code == 200
    voices = {v["id"]: v for v in answer.get_json()["voices"]}
    assert voices[VOICE] == {
        "id": VOICE, "name": "Tester (medium)", "engine": "piper", "language": "en-US",
        "gender": "unknown", "style": "your own Piper voice, 22050 Hz", "default": False,
    }  # fmt: skip
    assert not [v for v in voices if v.startswith("piper_") and v != VOICE]
    assert answer.get_json()["default"] == "male_narrator_deep" and "espeak_male" in voices
    skipped = " ".join(r.getMessage() for r in caplog.records)
    for name in ("garbage.onnx", "lonely.onnx", "bad_config.onnx"):
        assert f"model={name}" in skipped
    assert VOICE in client.get("/api/options").get_json()["voice_id"]


def test_the_folder_is_read_again_when_it_changes(client, app):
    assert not [v for v in client.get("/api/options").get_json()["voice_id"] if "piper_" in v]
    model = drop_voice(app)
    assert VOICE in client.get("/api/options").get_json()["voice_id"]
    model.unlink()
    assert VOICE not in client.get("/api/options").get_json()["voice_id"]


def test_a_job_accepts_and_renders_with_a_dropped_in_voice(running_app):
    drop_voice(running_app)
    client = running_app.test_client()
    assert JobSpec(topic="t", voice_id=VOICE).voice_id == VOICE  # the shape; the folder next
    for missing in ("piper_nobody", "barry_white"):
        refused = client.post("/api/generate-video", json={"topic": "t", "voice_id": missing})
        assert refused.status_code == 400, refused.get_json()
        assert refused.get_json()["error"] == "VALIDATION_ERROR"
        assert refused.get_json()["field"] == "voice_id"
    job = {"topic": "A lighthouse", "voice_id": VOICE, "duration": 0.1, "num_scenes": 1,
           "music": False, "subtitles": False, "aspect_ratio": "1:1"}  # fmt: skip
    answer = client.post("/api/generate-video", json=job)
    assert answer.status_code == 202, answer.get_json()
    body = wait_for_job(lambda url: client.get(url).get_json(), answer.get_json()["job_id"])
    assert body["status"] == "complete", body
    assert f"voice {VOICE}" in body["details"]
    info = probe(running_app.config["VIDEOS_DIR"] / body["video_path"])
    assert info.has_audio and info.duration > 2


def test_a_preview_is_spoken_once_then_served_from_the_cache(client, app, tmp_path):
    model = drop_voice(app)
    url = f"/api/voices/{VOICE}/preview"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "audio/mpeg"
    assert first.headers["ETag"] and "private" in first.headers["Cache-Control"]
    seconds, samples = decoded(first.data, tmp_path)
    assert 1.5 < seconds < 8 and len(samples) > 0
    assert np.sqrt(np.mean(np.square(samples.astype(np.float64)))) > 0.01, "silent preview"
    [kept] = voice_previews_dir(app.config).iterdir()
    made = kept.stat().st_mtime_ns
    again = client.get(url)
    assert again.headers["ETag"] == first.headers["ETag"] and again.data == first.data
    assert kept.stat().st_mtime_ns == made, "the preview was spoken again"
    unchanged = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and not unchanged.data
    stamp = model.stat().st_mtime_ns + 10**9
    os.utime(model, ns=(stamp, stamp))  # the model replaced under its name: heard anew
    replaced = client.get(url)
    assert replaced.status_code == 200 and replaced.headers["ETag"] != first.headers["ETag"]
    assert [p.name for p in voice_previews_dir(app.config).iterdir()] != [kept.name]


@pytest.mark.parametrize(
    "voice_id", ["nobody", "piper_nobody", "..", "..%2F..%2Fetc%2Fpasswd", "piper_..%2Fx", "%00"]
)
def test_unknown_and_path_like_voices_are_404s(client, voice_id):
    answer = client.get(f"/api/voices/{voice_id}/preview")
    assert answer.status_code == 404
    assert answer.get_json()["error"] in ("VOICE_NOT_FOUND", "NOT_FOUND")
    if "%2F" not in voice_id:
        assert answer.get_json() == {
            "error": "VOICE_NOT_FOUND",
            "message": answer.get_json()["message"],
            "field": "voice_id",
        }


def test_a_preview_needs_auth_like_any_api_route_and_takes_a_media_token(tmp_path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    try:
        client = app.test_client()
        url = "/api/voices/espeak_male/preview"
        assert client.get(url).status_code == 401
        access = register(client)["access_token"]
        assert client.get(url, headers=bearer(access)).status_code == 200
        media = client.post("/api/auth/media-token", headers=bearer(access)).get_json()["token"]
        assert client.get(f"{url}?token={media}").mimetype == "audio/mpeg"  # <audio src>
    finally:
        close_app(app)


def test_a_hosted_voice_previews_only_with_a_speech_api(client, tmp_path):
    refused = client.get("/api/voices/api_nova/preview")
    assert refused.status_code == 503
    assert refused.get_json()["error"] == "UPSTREAM_NOT_CONFIGURED"
    assert "SORA_TTS_BASE_URL" in refused.get_json()["message"]
    listed = {v["id"]: v for v in client.get("/api/voices").get_json()["voices"]}
    assert listed["api_nova"]["available"] is False
    assert "SORA_TTS_BASE_URL" in listed["api_nova"]["unavailable_reason"]
    assert listed["espeak_male"]["available"] is True
    assert "unavailable_reason" not in listed["espeak_male"]
    fake = FakeUpstreams(api_key="sk-voices")
    fake.start()
    tts = Upstream(
        name="tts", label="speech API", base_url=fake.base_url, api_key="sk-voices",
        model="tts-1", connect_timeout=1.0, read_timeout=5.0, max_attempts=2,
        max_total_seconds=10.0, backoff=0.05,
    )  # fmt: skip
    app = create_app({**app_config(tmp_path / "hosted"), "UPSTREAMS": {"tts": tts}})
    try:
        hosted = app.test_client().get("/api/voices").get_json()["voices"]
        assert next(v for v in hosted if v["id"] == "api_nova")["available"] is True
        answer = app.test_client().get("/api/voices/api_nova/preview")
        assert answer.status_code == 200 and answer.mimetype == "audio/mpeg"
        assert decoded(answer.data, tmp_path)[0] > 0.5
        assert len(fake.requests("speech")) == 1
    finally:
        close_app(app)
        fake.stop()
