"""The OpenAPI document covers every route, and real answers match what it documents."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image

from sora_app import create_app
from sora_app.api.openapi import SKIPPED_METHODS, build, openapi_path
from sora_app.jobs import store
from tests.conftest import app_config, close_app, png_bytes

from .openapi_check import Documented


def missing_routes(app, doc: dict) -> list[str]:
    """Every url_map route (but static) the document lacks, or has only as undocumented."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            operation = doc["paths"].get(openapi_path(rule), {}).get(method.lower())
            if operation is None or operation.get("x-undocumented"):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    return missing


@pytest.fixture
def documented(tmp_path: Path):
    app = create_app({**app_config(tmp_path), "JOB_QUEUE_LIMIT": 100})
    yield Documented(app, app.test_client())
    close_app(app)


def test_every_route_is_documented(documented):
    assert missing_routes(documented.app, documented.doc) == []
    assert documented.doc["openapi"] == "3.1.0"


def test_a_route_without_documented_fails_the_check(tmp_path: Path):
    app = create_app(app_config(tmp_path))
    try:
        app.add_url_rule("/api/extra/<thing>", "extra", lambda thing: {}, methods=["PUT"])
        with app.app_context():
            assert missing_routes(app, build(app)) == ["PUT /api/extra/<thing> (extra)"]
    finally:
        close_app(app)


def test_security_follows_the_auth_mode(tmp_path: Path, documented):
    progress = documented.doc["paths"]["/api/progress"]["get"]
    assert {} in progress["security"], "open mode: no credential is the local user"
    assert documented.doc["paths"]["/health"]["get"]["security"] == []
    required = create_app({**app_config(tmp_path / "r"), "AUTH_MODE": "required"})
    try:
        client = required.test_client()
        doc = client.get("/api/openapi.json").get_json()  # public in required mode too
        assert {} not in doc["paths"]["/api/progress"]["get"]["security"]
        assert {"mediaToken": []} in doc["paths"]["/api/video/{filename}"]["get"]["security"]
        assert client.get("/api-docs").status_code == 200
    finally:
        close_app(required)


def test_enums_come_from_the_models(documented):
    spec = documented.doc["components"]["schemas"]["JobSpec"]["properties"]
    options = documented.client.get("/api/options").get_json()
    assert spec["story_type"]["enum"] == options["story_type"]
    assert spec["pacing"]["enum"] == options["pacing"]
    assert spec["aspect_ratio"]["enum"] == options["aspect_ratio"]


def test_docs_page_and_assets_are_served_offline(documented):
    page = documented.call("GET", "/api-docs", 200)
    assert b"/api-docs/swagger-ui-bundle.js" in page.data and b"//cdn" not in page.data
    bundle = documented.call("GET", "/api-docs/swagger-ui-bundle.js", 200)
    assert len(bundle.data) > 100_000
    documented.call("GET", "/api-docs/..%2Fsecret", 404)
    documented.call("GET", "/api-docs/index.html", 404)


def mp4(path: Path) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc=size=64x64:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         str(path)],
        check=True,
    )  # fmt: skip


def finished_jobs(app, owner: str = "local") -> tuple[str, str]:
    """A completed job with real files, and a failed one, as the runner leaves them."""
    mp4(app.config["VIDEOS_DIR"] / "video_done.mp4")
    Image.new("RGB", (64, 64), "teal").save(app.config["VIDEOS_DIR"] / "video_done.jpg")
    with app.app_context():
        done = store.create_job({"topic": "Done"}, owner_id=owner).id
        bad = store.create_job({"topic": "Bad"}, owner_id=owner).id
        assert store.claim_next("w", 30) == done
        store.complete(done, "w", "video_done.mp4", "video_done.jpg", 1.0)
        assert store.claim_next("w", 30) == bad
        store.fail(bad, "w", "BAD_IMAGE", "Failed to generate images")
    return done, bad


def test_contract1_answers_match(documented):
    call = documented.call
    done, bad = finished_jobs(documented.app)
    call("GET", "/health", 200)
    call("GET", "/api/progress", 200)
    call("GET", "/api/voices", 200)
    call("GET", "/api/options", 200)
    call("GET", "/api/voices/nobody/preview", 404)
    job = call("POST", "/api/generate-video", 202, json={"topic": "Docs"}).get_json()["job_id"]
    call("POST", "/api/generate-video", 400, json={"topic": "x", "pacing": "glacial"})
    call("POST", "/api/generate-video", 400, data="[", content_type="application/json")
    call("GET", "/api/progress", 200)
    call("GET", f"/api/progress?job_id={job}", 200)
    call("GET", "/api/progress/nope", 404)
    call("GET", f"/api/progress/{done}", 200)
    call("GET", f"/api/progress/{bad}", 200)
    call("POST", f"/api/jobs/{job}/cancel", 200)
    call("POST", f"/api/jobs/{done}/cancel", 409)
    call("GET", "/api/video/video_done.mp4", 200)
    call("GET", "/api/video/video_done.jpg", 200)
    call("GET", "/api/video/video_done.mp4", 206, headers={"Range": "bytes=0-9"})
    call("GET", "/api/video/video_done.mp4", 416, headers={"Range": "bytes=999999-"})
    call("GET", "/api/video/nope.mp4", 404)
    image = {"file": (io.BytesIO(png_bytes()), "p.png")}
    call("POST", "/api/uploads", 201, data=image, content_type="multipart/form-data")
    call("GET", "/api/uploads", 200)
    call("GET", "/ws", 400)


def test_task_api_answers_match(documented):
    call = documented.call
    done, bad = finished_jobs(documented.app)
    made = call("POST", "/api/video/tasks", 201, json={"prompt": "A lighthouse", "duration": 6})
    video_id = made.get_json()["data"]["videoId"]
    call("POST", "/api/video/tasks", 400, json={"duration": 6})
    call("GET", f"/api/video/tasks/{video_id}", 200)
    call("GET", "/api/video/tasks?status=QUEUED,FAILED&limit=5", 200)
    call("GET", "/api/video/tasks?status=NOPE", 400)
    call("GET", "/api/video/stats", 200)
    call("GET", f"/api/video/tasks/{video_id}/content", 409)
    call("DELETE", f"/api/video/tasks/{video_id}", 409)
    call("POST", f"/api/video/tasks/{video_id}/cancel", 200)
    call("DELETE", f"/api/video/tasks/{video_id}", 200)
    call("GET", f"/api/video/tasks/{video_id}", 404)
    call("GET", f"/api/video/tasks/video_{done}/content", 200)
    call("GET", f"/api/video/tasks/video_{bad}", 200)


def test_openai_surface_answers_match(documented):
    call = documented.call
    done, bad = finished_jobs(documented.app)
    video = call("POST", "/v1/videos", 200, json={"prompt": "A paper boat", "seconds": "4"})
    video_id = video.get_json()["id"]
    call("POST", "/v1/videos", 400, json={"prompt": "x", "model": "elsewhere"})
    call("GET", f"/v1/videos/{video_id}", 200)
    call("GET", "/v1/videos?limit=2&order=asc", 200)
    call("GET", "/v1/videos?limit=0", 400)
    call("GET", f"/v1/videos/{video_id}/content", 409)
    call("DELETE", f"/v1/videos/{video_id}", 200)
    call("GET", "/v1/videos/video_nope", 404)
    call("GET", f"/v1/videos/video_{done}/content", 200)
    call("GET", f"/v1/videos/video_{done}/content?variant=thumbnail", 200)
    call("GET", f"/v1/videos/video_{done}/content?variant=nope", 400)
    call("GET", f"/v1/videos/video_{bad}", 200)
