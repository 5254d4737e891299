"""The video library and a video's scenes, through a real server with real renders."""

from __future__ import annotations

import io
import itertools
import subprocess
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from sora_app.pipeline.ffmpeg import ffmpeg_exe
from tests.api.test_auth import bearer
from tests.conftest import png_bytes, serve, wait_for_job


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[str, Path]:
    tmp = tmp_path_factory.mktemp("library")
    for base in serve(
        tmp,
        SORA_JOB_WORKERS="1",
        SORA_AUTH_MODE="required",
        SORA_SECRET_KEY="library-test-secret-0123456789abcdef",
    ):
        yield base, tmp / "videos"


def _user(base: str, name: str) -> requests.Session:
    session = requests.Session()
    account = {"username": name, "password": "correct horse"}
    made = session.post(f"{base}/api/auth/register", json=account, timeout=10)
    assert made.status_code == 201, made.text
    session.headers.update(bearer(made.json()["access_token"]))
    return session


def _frame(video: Path, at: float, width: int) -> np.ndarray:
    """One decoded frame, scaled like a still, as floats."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1",
         "-vf", f"scale={width}:-2", "-f", "image2pipe", "-c:v", "png", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=np.float32)


def _render(api: requests.Session, base: str, tmp_path: Path) -> dict:
    """A 3-scene video whose first scene is an uploaded picture (so sources differ)."""
    upload = api.post(f"{base}/api/uploads",
                      files={"file": ("red.png", png_bytes((640, 360), (210, 30, 30)))},
                      timeout=10)  # fmt: skip
    assert upload.status_code == 201, upload.text
    answer = api.post(f"{base}/api/generate-video", json={
        "topic": "The Clockmaker's Last Winter", "duration": 0.25, "num_scenes": 3, "seed": 4,
        "voice_id": "espeak_male", "aspect_ratio": "16:9", "music": False,
        "image_mode": "mixed", "manual_image_paths": [upload.json()["path"]],
    }, timeout=10)  # fmt: skip
    assert answer.status_code == 202, answer.text
    done = wait_for_job(lambda url: api.get(base + url, timeout=10).json(),
                        answer.json()["job_id"], timeout=240)  # fmt: skip
    assert done["status"] == "complete", done
    return done


def test_a_video_is_listed_taken_apart_into_scenes_and_deleted_with_its_files(site, tmp_path):
    base, videos = site
    api = _user(base, "clara")
    done = _render(api, base, tmp_path)
    job_id = done["job_id"]

    library = api.get(f"{base}/api/videos", timeout=10).json()
    assert library["total"] == 1 and library["page"] == 1 and library["limit"] == 20
    entry = library["videos"][0]
    assert entry["id"] == job_id and entry["status"] == "completed"
    assert entry["title"] == "The Clockmaker's Last Winter"
    assert entry["duration"] == pytest.approx(done["duration"])
    assert entry["thumbnail_url"] == done["thumbnail_url"]
    thumbnail = api.get(base + entry["thumbnail_url"], timeout=10)
    assert thumbnail.headers["Content-Type"] == "image/jpeg"
    for status, total in (("completed", 1), ("processing", 0), ("failed", 0), ("all", 1)):
        assert api.get(f"{base}/api/videos?status={status}", timeout=10).json()["total"] == total
    assert api.get(f"{base}/api/videos/video_{job_id}", timeout=10).json()["id"] == job_id

    listed = api.get(f"{base}/api/videos/{job_id}/scenes", timeout=10).json()
    scenes = listed["scenes"]
    assert [s["index"] for s in scenes] == [0, 1, 2] and listed["title"] == entry["title"]
    assert [s["source"] for s in scenes] == ["upload", "painter", "painter"]
    assert scenes[0]["start"] == 0 and scenes[-1]["end"] == pytest.approx(done["duration"], abs=0.1)
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(scenes))
    assert all(s["text"] and s["end"] > s["start"] for s in scenes)

    video = tmp_path / "video.mp4"
    video.write_bytes(api.get(base + done["video_url"], timeout=30).content)
    stills = []
    for scene in scenes:
        answer = api.get(base + scene["image_url"], timeout=10)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"
        still = Image.open(io.BytesIO(answer.content)).convert("RGB")
        assert still.width == 360 and still.height == 202  # 16:9, a picker's thumbnail
        stills.append(np.asarray(still, dtype=np.float32))
    # Each still shows its own scene: it is closer to a frame from the middle of that
    # scene than to one from any other scene (right picture, right times).
    for i, scene in enumerate(scenes):
        frame = _frame(video, (scene["start"] + scene["end"]) / 2, 360)[:202]
        distances = [float(np.abs(frame - s[: frame.shape[0]]).mean()) for s in stills]
        assert int(np.argmin(distances)) == i, (i, distances)
    red = stills[0].reshape(-1, 3).mean(axis=0)
    assert red[0] > 120 and red[1] < 90, red  # the uploaded red picture

    names = {p.name for p in videos.iterdir()}
    stem = Path(done["video_path"]).stem
    kept = {n for n in names if n.startswith(stem)}
    assert len(kept) == 6, kept  # video, thumbnail, manifest, 3 stills
    deleted = api.delete(f"{base}/api/videos/{job_id}", timeout=10)
    assert deleted.status_code == 200 and deleted.json() == {"id": job_id, "deleted": True}
    assert not [p for p in videos.iterdir() if p.name.startswith(stem)]
    assert api.get(base + scenes[1]["image_url"], timeout=10).status_code == 404
    assert api.get(f"{base}/api/videos/{job_id}", timeout=10).status_code == 404
    assert api.get(f"{base}/api/videos", timeout=10).json()["total"] == 0


def test_another_users_video_scenes_and_stills_are_missing(site, tmp_path):
    base, _videos = site
    owner, other = _user(base, "dora"), _user(base, "eli")
    done = _render(owner, base, tmp_path)
    job_id = done["job_id"]
    still = owner.get(f"{base}/api/videos/{job_id}/scenes", timeout=10).json()["scenes"][0]
    for method, url in [
        ("get", f"/api/videos/{job_id}"),
        ("get", f"/api/videos/{job_id}/scenes"),
        ("delete", f"/api/videos/{job_id}"),
        ("get", still["image_url"]),
    ]:
        answer = getattr(other, method)(base + url, timeout=10)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.json()["error"] in ("JOB_NOT_FOUND", "VIDEO_NOT_FOUND")
    assert other.get(f"{base}/api/videos", timeout=10).json() == {
        "videos": [], "total": 0, "page": 1, "limit": 20, "has_more": False,
    }  # fmt: skip
    assert requests.get(f"{base}/api/videos", timeout=10).status_code == 401
    assert owner.get(base + still["image_url"], timeout=10).status_code == 200


def test_library_answers_bad_paging_and_filters_with_400s(site):
    base, _videos = site
    api = _user(base, "finn")
    for query, field in (("status=done", "status"), ("page=0", "page"), ("limit=500", "limit")):
        answer = api.get(f"{base}/api/videos?{query}", timeout=10)
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    missing = api.get(f"{base}/api/videos/nope/scenes", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "JOB_NOT_FOUND"


def test_a_video_still_rendering_is_processing_and_has_no_scenes_yet(client):
    """`client`'s app runs no job workers: the job stays queued."""
    answer = client.post("/api/generate-video", json={"topic": "Waiting", "duration": 0.2})
    job_id = answer.get_json()["job_id"]
    library = client.get("/api/videos?status=processing").get_json()
    assert [v["id"] for v in library["videos"]] == [job_id]
    entry = library["videos"][0]
    assert entry["status"] == "processing" and entry["title"] == "Waiting"
    assert entry["video_url"] is None and entry["scenes_url"] is None
    assert client.get("/api/videos?status=completed").get_json()["total"] == 0
    scenes = client.get(f"/api/videos/{job_id}/scenes")
    assert scenes.status_code == 409 and scenes.get_json()["error"] == "VIDEO_NOT_READY"
    deleted = client.delete(f"/api/videos/{job_id}")
    assert deleted.status_code == 409 and deleted.get_json()["error"] == "JOB_ACTIVE"
