"""Contract 1 through the Flask test client: progress, video streaming, health and CORS."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import pytest

from sora_app.extensions import db
from sora_app.jobs import store
from sora_app.models import Job

ORIGIN = "http://localhost:5173"


@pytest.fixture
def sample_video(app) -> str:
    """A real 1 s H.264 file in videos/, made by ffmpeg."""
    name = "video_20250101_000000_sample.mp4"
    out = app.config["VIDEOS_DIR"] / name
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc=size=64x64:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-movflags", "+faststart", str(out)],
        check=True,
    )  # fmt: skip
    publish(app, name, name.replace(".mp4", ".jpg"))
    return name


def publish(app, video: str, thumbnail: str | None = None, owner: str = "local") -> str:
    """Record a completed job that owns these files, as the runner does."""
    with app.app_context():
        job = Job(request_json="{}", owner_id=owner, status="completed", progress=100.0)
        job.video_path, job.thumbnail_path, job.video_duration = video, thumbnail, 1.0
        db.session.add(job)
        db.session.commit()
        return job.id


def test_progress_before_any_job_is_idle(client):
    response = client.get("/api/progress")
    assert response.status_code == 200
    assert response.get_json() == {"status": "idle", "progress": 0}


def test_progress_without_id_is_the_most_recent_job(client):
    first = client.post("/api/generate-video", json={"topic": "one"}).get_json()["job_id"]
    second = client.post("/api/generate-video", json={"topic": "two"}).get_json()["job_id"]
    latest = client.get("/api/progress").get_json()
    assert latest["job_id"] == second
    assert latest["status"] == "generating"
    assert latest["progress"] == 0
    assert latest["substatus"] == "Queued (position 2)"
    assert latest["eta_seconds"] > 0, "a queued job's estimate is its own run"
    by_query = client.get(f"/api/progress?job_id={first}").get_json()
    by_path = client.get(f"/api/progress/{first}").get_json()
    assert by_query["job_id"] == by_path["job_id"] == first
    assert by_path["substatus"] == "Queued (position 1)"


@pytest.mark.parametrize("url", ["/api/progress/nope", "/api/progress?job_id=nope"])
def test_unknown_job_is_404_in_the_error_shape(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()["error"] == "JOB_NOT_FOUND"


def test_completed_and_failed_jobs_read_as_the_contract_says(client, app):
    with app.app_context():
        done = store.create_job({"topic": "t"}).id
        bad = store.create_job({"topic": "t"}).id
        owner = "test-owner"
        assert store.claim_next(owner, 30) == done
        store.complete(done, owner, "video_x.mp4", "video_x.jpg", 12.5)
        assert store.claim_next(owner, 30) == bad
        store.report_progress(bad, owner, 50, "Creating scene 1 of 2", "")
        store.fail(bad, owner, "BAD_IMAGE", "Failed to generate images")
    complete = client.get(f"/api/progress/{done}").get_json()
    assert complete["status"] == "complete"
    assert complete["progress"] == 100
    assert complete["video_path"] == "video_x.mp4"
    assert complete["substatus"] == "Video ready for download"
    assert complete["eta_seconds"] == 0
    error = client.get(f"/api/progress/{bad}").get_json()
    assert error["status"] == "error"
    assert error["progress"] == 50
    assert error["error"] == "Failed to generate images"
    assert error["error_code"] == "BAD_IMAGE"
    assert error["eta_seconds"] is None, "a failed job never finishes"


def test_video_full_get(client, sample_video, app):
    response = client.get(f"/api/video/{sample_video}")
    size = (app.config["VIDEOS_DIR"] / sample_video).stat().st_size
    assert response.status_code == 200
    assert response.mimetype == "video/mp4"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert int(response.headers["Content-Length"]) == size == len(response.data)


def test_video_range_is_206_with_exact_bytes(client, sample_video, app):
    data = (app.config["VIDEOS_DIR"] / sample_video).read_bytes()
    response = client.get(f"/api/video/{sample_video}", headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert response.data == data[100:200]
    tail = client.get(f"/api/video/{sample_video}", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.data == data[-50:]


def test_unsatisfiable_range_is_416(client, sample_video, app):
    size = (app.config["VIDEOS_DIR"] / sample_video).stat().st_size
    response = client.get(f"/api/video/{sample_video}", headers={"Range": f"bytes={size + 10}-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{size}"


def test_head_gives_headers_without_body(client, sample_video, app):
    size = (app.config["VIDEOS_DIR"] / sample_video).stat().st_size
    response = client.head(f"/api/video/{sample_video}")
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == size
    assert response.data == b""


def test_if_range_and_conditional_get(client, sample_video):
    first = client.get(f"/api/video/{sample_video}")
    etag = first.headers["ETag"]
    matching = client.get(
        f"/api/video/{sample_video}", headers={"Range": "bytes=0-9", "If-Range": etag}
    )
    assert matching.status_code == 206 and len(matching.data) == 10
    stale = client.get(
        f"/api/video/{sample_video}", headers={"Range": "bytes=0-9", "If-Range": '"stale"'}
    )
    assert stale.status_code == 200 and len(stale.data) == len(first.data)
    cached = client.get(f"/api/video/{sample_video}", headers={"If-None-Match": etag})
    assert cached.status_code == 304


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2fwsgi.py",
        ".hidden.part.mp4",
        "video.txt",
        "missing.mp4",
        "..",
        "orphan.mp4",
    ],
)
def test_no_path_escapes_videos(client, app, name):
    (app.config["VIDEOS_DIR"] / "orphan.mp4").write_bytes(b"no job owns this file")
    response = client.get(f"/api/video/{name}")
    assert response.status_code == 404
    assert response.get_json()["error"] in ("VIDEO_NOT_FOUND", "NOT_FOUND")


def test_thumbnail_is_served_as_jpeg(client, app):
    (app.config["VIDEOS_DIR"] / "video_a.jpg").write_bytes(b"\xff\xd8\xff\xe0jpeg")
    publish(app, "video_a.mp4", "video_a.jpg")
    response = client.get("/api/video/video_a.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"


def test_cors_preflight_allows_the_vite_app(client):
    response = client.options(
        "/api/generate-video",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    simple = client.get("/api/progress", headers={"Origin": ORIGIN})
    assert simple.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")


def test_cors_origins_are_restrictable(tmp_path):
    from sora_app import create_app
    from tests.conftest import app_config

    app = create_app({**app_config(tmp_path), "CORS_ORIGINS": ("https://studio.example",)})
    client = app.test_client()
    allowed = client.get("/api/progress", headers={"Origin": "https://studio.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://studio.example"
    denied = client.get("/api/progress", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_health_reports_checks(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    # No workers run in this test app, so the honest answer is degraded, still 200.
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] and body["checks"]["ffmpeg"]["ok"]
    assert body["checks"]["workers"]["ok"] is False
    assert body["checks"]["queue"]["queued"] == 0


def test_health_is_ok_with_workers(running_app):
    body = running_app.test_client().get("/health").get_json()
    assert body["status"] == "ok", body


def test_health_is_503_when_the_database_is_not_writable(app, tmp_path):
    from sora_app import create_app
    from tests.conftest import app_config
    from tests.suite_database import read_only_url

    read_only = read_only_url(app.config["SQLALCHEMY_DATABASE_URI"])
    ro_app = create_app({**app_config(tmp_path / "ro"), "SQLALCHEMY_DATABASE_URI": read_only})
    response = ro_app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["ok"] is False


def test_voices_and_options_are_listed(client):
    voices = client.get("/api/voices").get_json()
    ids = [v["id"] for v in voices["voices"]]
    assert voices["default"] in ids and "espeak_male" in ids
    options = client.get("/api/options").get_json()
    assert "scary_horror" in options["story_type"] and "9:16" in options["aspect_ratio"]
    assert "calm" in options["music_mood"] and options["music_mood_by_story_type"]["comedy"]
    assert options["music_volume"] == {"min": -24.0, "max": 6.0, "default": 0.0, "unit": "dB"}


def test_unknown_route_and_method_use_the_error_shape(client):
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"] == "NOT_FOUND"
    wrong = client.get("/api/generate-video")
    assert wrong.status_code == 405
    assert wrong.get_json()["error"] == "METHOD_NOT_ALLOWED"
