"""Uploads land only in the uploads folder, are checked as images, and feed manual mode."""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import FAST_JOB, local_uploads, png_bytes, wait_for_job


def upload(client, data: bytes, name: str = "beach.png"):
    return client.post(
        "/api/uploads", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def test_upload_stores_a_checked_image_under_a_server_chosen_name(client, app):
    response = upload(client, png_bytes(), name="../../evil.png")
    assert response.status_code == 201
    body = response.get_json()
    assert body["path"].endswith(".png") and "/" not in body["path"] and "evil" not in body["path"]
    assert (body["width"], body["height"]) == (64, 32)
    assert (local_uploads(app) / body["path"]).is_file()
    listed = client.get("/api/uploads").get_json()["uploads"]
    assert [u["path"] for u in listed] == [body["path"]]


def test_not_an_image_is_a_400_and_leaves_nothing(client, app):
    response = upload(client, b"#!/bin/sh\necho hi\n", name="x.png")
    assert response.status_code == 400 and response.get_json()["error"] == "INVALID_IMAGE"
    assert list(local_uploads(app).iterdir()) == []


def test_missing_file_field_is_a_400(client):
    response = client.post("/api/uploads", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and response.get_json()["field"] == "file"


def test_too_large_upload_is_413(client, app):
    app.config["MAX_UPLOAD_BYTES"] = 10_000
    response = upload(client, png_bytes(size=(400, 400)) + b"\0" * 20_000)
    assert response.status_code == 413
    assert "SORA_MAX_UPLOAD_BYTES" in response.get_json()["message"]


def test_uploaded_image_is_used_for_manual_scenes(running_app):
    running_app.config["KEEP_WORK_DIRS"] = True  # to look at the scene image afterwards
    client = running_app.test_client()
    name = upload(client, png_bytes(size=(300, 100), color=(250, 0, 0))).get_json()["path"]
    job = {**FAST_JOB, "image_mode": "manual_only", "manual_image_paths": [name]}
    job_id = client.post("/api/generate-video", json=job).get_json()["job_id"]
    assert wait_for_job(lambda url: client.get(url).get_json(), job_id)["status"] == "complete"
    scene = Image.open(running_app.config["WORK_DIR"] / job_id / "scene_000.jpg").convert("RGB")
    assert scene.size == (1080, 1920)
    red, green, blue = scene.resize((1, 1)).getpixel((0, 0))
    assert red > 200 and green < 40 and blue < 40, "the uploaded red image should fill the scene"


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def test_huge_images_are_refused_before_decoding(client, app):
    for width in (13_000, 30_000):
        response = upload(client, _png_header_claiming(width, width))
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"] == "INVALID_IMAGE"
    assert list(local_uploads(app).iterdir()) == []
