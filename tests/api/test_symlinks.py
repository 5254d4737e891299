"""Symlinks never let a client list, download or render a file outside its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sora_app.extensions import db
from sora_app.jobs.executors import start_executor
from sora_app.jobs.spec import user_uploads_dir
from sora_app.models import Job
from sora_app.safe_paths import safe_file
from tests.conftest import FAST_JOB, local_uploads, png_bytes, wait_for_job

SECRET = Path("/etc/passwd")


def _publish(app, video: str, thumbnail: str) -> None:
    """A completed job of the local user that owns these media names, as the runner leaves it."""
    with app.app_context():
        job = Job(request_json="{}", owner_id="local", status="completed", progress=100.0)
        job.video_path, job.thumbnail_path, job.video_duration = video, thumbnail, 1.0
        db.session.add(job)
        db.session.commit()


def test_symlinks_in_the_uploads_folder_are_not_listed(client, app, tmp_path):
    uploads = local_uploads(app)
    (uploads / "real.png").write_bytes(png_bytes())
    outside = tmp_path / "private.png"
    outside.write_bytes(png_bytes(size=(300, 300)))
    os.symlink(outside, uploads / "out.png")
    os.symlink(SECRET, uploads / "passwd.png")
    os.symlink(uploads / "real.png", uploads / "alias.png")  # even one pointing inside
    listed = client.get("/api/uploads").get_json()["uploads"]
    assert listed == [{"path": "real.png", "bytes": (uploads / "real.png").stat().st_size}]


def test_a_thumbnail_swapped_for_a_symlink_is_not_served(client, app):
    videos = Path(app.config["VIDEOS_DIR"])
    videos.mkdir(parents=True, exist_ok=True)
    _publish(app, "video_sample.mp4", "video_sample.jpg")
    (videos / "video_sample.jpg").write_bytes(b"\xff\xd8 a real thumbnail")
    assert client.get("/api/video/video_sample.jpg").status_code == 200
    (videos / "video_sample.jpg").unlink()
    os.symlink(SECRET, videos / "video_sample.jpg")
    response = client.get("/api/video/video_sample.jpg")
    assert response.status_code == 404
    assert b"root:" not in response.data


def test_a_symlinked_manual_image_is_refused_at_submit(client, app):
    uploads = local_uploads(app)
    (uploads / "real.png").write_bytes(png_bytes())
    os.symlink(uploads / "real.png", uploads / "alias.png")
    job = {**FAST_JOB, "image_mode": "manual_only", "manual_image_paths": ["alias.png"]}
    response = client.post("/api/generate-video", json=job)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["field"] == "manual_image_paths[0]"


def test_a_manual_image_swapped_for_a_symlink_after_submit_fails_the_job(app):
    """The runner checks again: the file may change between submit and render. Even a link
    to another upload in the same folder is refused, so no link is ever followed."""
    uploads = local_uploads(app)
    (uploads / "real.png").write_bytes(png_bytes())
    (uploads / "other.png").write_bytes(png_bytes(color=(0, 0, 255)))
    client = app.test_client()
    job = {**FAST_JOB, "image_mode": "manual_only", "manual_image_paths": ["real.png"]}
    response = client.post("/api/generate-video", json=job)
    assert response.status_code == 202, response.get_json()
    (uploads / "real.png").unlink()
    os.symlink(uploads / "other.png", uploads / "real.png")
    start_executor(app)
    body = wait_for_job(lambda url: client.get(url).get_json(), response.get_json()["job_id"])
    assert body["status"] == "error" and body["error_code"] == "BAD_IMAGE", body


@pytest.mark.parametrize(
    "owner", ["../x", "../../etc", "a/b", "", ".", "..", "x\x00", "é", "a" * 65]
)
def test_an_owner_id_that_is_not_a_plain_identifier_never_becomes_a_path(tmp_path, owner):
    with pytest.raises(ValueError, match="plain identifier"):
        user_uploads_dir(tmp_path, owner)


@pytest.mark.parametrize("owner", ["local", "0123456789abcdef0123456789abcdef", "user_1-a"])
def test_plain_owner_ids_get_their_own_folder(tmp_path, owner):
    assert user_uploads_dir(tmp_path, owner) == tmp_path / owner


def test_safe_file_accepts_only_regular_files_directly_inside(tmp_path):
    folder = tmp_path / "box"
    (folder / "sub").mkdir(parents=True)
    (folder / "ok.jpg").write_bytes(b"x")
    (folder / "sub" / "deep.jpg").write_bytes(b"x")
    os.symlink(folder / "ok.jpg", folder / "link.jpg")
    os.symlink(folder / "loop.jpg", folder / "loop.jpg")
    assert safe_file(folder, "ok.jpg") == folder / "ok.jpg"
    for name in ("link.jpg", "loop.jpg", "sub", "sub/deep.jpg", "..", ".", "", "missing.jpg"):
        assert safe_file(folder, name) is None, name
