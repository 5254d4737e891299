"""Upload hardening: sizes are checked from the header before decoding, damaged files are
refused at upload time, and EXIF-rotated photos report the size people see."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sora_app.pipeline.images import MAX_PIXELS
from tests.conftest import FAST_JOB, local_uploads, wait_for_job
from tests.images import cut_in_half, encoded, noisy, peak_rss_growth, rotated_jpeg, tall_png

SLIVER = 39_000_000
"""Height of the 1-pixel-wide PNG from the incident: under MAX_PIXELS by area."""
DECODE_MB = 100
"""Decoding the sliver costs several hundred MB; reading its header costs next to nothing."""


def upload(client, data: bytes, name: str = "photo.png"):
    return client.post(
        "/api/uploads", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


@pytest.fixture(scope="module")
def sliver() -> bytes:
    """The 76 KB, 1 x 39M-pixel PNG that drove a worker to 1.18 GB."""
    assert SLIVER < MAX_PIXELS
    return tall_png(SLIVER)


def assert_refused(response, field: str = "file") -> None:
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert (body["error"], body["field"]) == ("INVALID_IMAGE", field), body


def test_a_sliver_png_is_refused_from_its_header_without_decoding(client, app, sliver):
    with peak_rss_growth() as growth:
        response = upload(client, sliver)
    assert_refused(response)
    assert "39000000" in response.get_json()["message"]
    assert growth[0] < DECODE_MB, f"peak memory rose {growth[0]} MB: the pixels were decoded"
    assert list(local_uploads(app).iterdir()) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # 6400x6400: >40M
@pytest.mark.parametrize(("width", "height"), [(12_001, 100), (100, 2_100), (6_400, 6_400)])
def test_too_long_too_thin_or_too_many_pixels_is_refused(client, width, height):
    """Side, aspect and area limits each refuse on their own (all headers of real PNGs)."""
    assert_refused(upload(client, tall_png(height, width)))


def test_pillow_refuses_decompression_bombs_wherever_it_opens_them(tmp_path):
    (tmp_path / "bomb.png").write_bytes(tall_png(9_000, 9_000))
    with pytest.raises(Image.DecompressionBombError):
        Image.open(tmp_path / "bomb.png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_image_is_refused_at_upload(client, app, fmt):
    data = cut_in_half(encoded(noisy(), fmt))
    assert_refused(upload(client, data, name=f"half.{fmt.lower()}"))
    assert list(local_uploads(app).iterdir()) == []


def test_a_truncated_reference_image_is_refused_on_the_task_route(client):
    data = {"prompt": "a lighthouse", "input_reference": (io.BytesIO(cut_in_half(
        encoded(noisy(), "JPEG"))), "ref.jpg")}  # fmt: skip
    response = client.post("/api/video/tasks", data=data, content_type="multipart/form-data")
    assert_refused(response, field="input_reference")


def test_an_exif_rotated_photo_is_stored_upright_without_its_metadata(client, app):
    response = upload(client, rotated_jpeg((64, 32), orientation=6), name="phone.jpg")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["width"], body["height"]) == (32, 64)
    with Image.open(local_uploads(app) / body["path"]) as stored:
        assert stored.size == (32, 64), "turned upright once, so every reader sees it alike"
        assert not stored.getexif(), "no EXIF (orientation, a phone's GPS) is kept"


def test_a_sliver_already_in_the_uploads_folder_fails_its_job_without_decoding(running_app, sliver):
    """Files that never passed the upload check (older uploads) are checked again at render."""
    (local_uploads(running_app) / "old.png").write_bytes(sliver)
    client = running_app.test_client()
    job = {**FAST_JOB, "image_mode": "manual_only", "manual_image_paths": ["old.png"]}
    job_id = client.post("/api/generate-video", json=job).get_json()["job_id"]
    with peak_rss_growth() as growth:
        body = wait_for_job(lambda url: client.get(url).get_json(), job_id)
    assert body["status"] == "error" and body["error_code"] == "BAD_IMAGE", body
    assert growth[0] < DECODE_MB, f"peak memory rose {growth[0]} MB: the pixels were decoded"
