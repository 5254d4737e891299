"""Whole jobs through the real pipeline (script, images, espeak, ffmpeg) in worker threads."""

from __future__ import annotations

from PIL import Image

from sora_app.jobs import store
from sora_app.pipeline.probe import probe
from tests.conftest import FAST_JOB, local_uploads, wait_for_job


def get_json(client):
    return lambda url: client.get(url).get_json()


def test_job_renders_a_real_video_with_monotonic_progress(running_app):
    client = running_app.test_client()
    job_id = client.post("/api/generate-video", json=FAST_JOB).get_json()["job_id"]
    seen = []
    body = wait_for_job(lambda url: seen.append(client.get(url).get_json()) or seen[-1], job_id)
    assert body["status"] == "complete", body
    progress = [b["progress"] for b in seen]
    assert progress == sorted(progress), "progress went backwards"
    assert len(set(progress)) >= 4, "progress should move inside stages, not only at the end"
    for snapshot in seen:
        assert 0 <= snapshot["progress"] <= 100
    video = running_app.config["VIDEOS_DIR"] / body["video_path"]
    info = probe(video)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert (info.width, info.height) == (1080, 1920)
    assert abs(info.duration - body["duration"]) < 0.25
    thumb = running_app.config["VIDEOS_DIR"] / body["video_path"].replace(".mp4", ".jpg")
    assert Image.open(thumb).size == (1080, 1920)
    leftovers = [p.name for p in running_app.config["VIDEOS_DIR"].iterdir() if ".part" in p.name]
    assert leftovers == []
    served = client.get(f"/api/video/{body['video_path']}", headers={"Range": "bytes=0-99"})
    assert served.status_code == 206 and len(served.data) == 100


def test_a_failing_stage_fails_the_job_with_its_reason(running_app):
    """An uploaded 'image' that is not an image fails the images stage, not the server."""
    client = running_app.test_client()
    (local_uploads(running_app) / "broken.png").write_bytes(b"definitely not a png")
    job = {**FAST_JOB, "image_mode": "manual_only", "manual_image_paths": ["broken.png"]}
    job_id = client.post("/api/generate-video", json=job).get_json()["job_id"]
    body = wait_for_job(get_json(client), job_id)
    assert body["status"] == "error"
    assert body["error_code"] == "BAD_IMAGE"
    assert "broken.png" in body["error"]
    assert 25 <= body["progress"] < 50
    assert not [p for p in running_app.config["VIDEOS_DIR"].iterdir() if ".part" in p.name]
    with running_app.app_context():
        assert store.get_job(job_id).stage_done == "script"


def test_a_stored_request_that_no_longer_validates_fails_cleanly(running_app):
    with running_app.app_context():
        job_id = store.create_job({**FAST_JOB, "voice_id": "retired_voice", "seed": 1}).id
    client = running_app.test_client()
    running_app.extensions["sora_executor"].wake()
    body = wait_for_job(get_json(client), job_id)
    assert body["status"] == "error" and body["error_code"] == "INVALID_REQUEST"
    assert "male_narrator_deep" in body["error"]
