"""Pictures a job loads (uploads, remote image APIs, stock photos): size limits before
decoding, and the upright picture that EXIF asks for."""

from __future__ import annotations

import pytest

from sora_app.pipeline.images import load_manual_image
from sora_app.pipeline.types import ImageSpec, StageError
from sora_app.providers.http import UpstreamBadResponse
from sora_app.providers.remote_images import fit_to_jpeg
from tests.fakes import make_client
from tests.images import peak_rss_growth, rotated_jpeg, tall_png

DECODE_MB = 100


@pytest.fixture(scope="module")
def sliver_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sliver") / "sliver.png"
    path.write_bytes(tall_png(39_000_000))
    return path


def test_a_manual_sliver_is_refused_from_its_header(sliver_file):
    with peak_rss_growth() as growth, pytest.raises(StageError) as caught:
        load_manual_image(sliver_file, 108, 192)
    assert caught.value.code == "BAD_IMAGE" and "1x39000000" in caught.value.message
    assert growth[0] < DECODE_MB, f"peak memory rose {growth[0]} MB: the pixels were decoded"


def test_a_remote_or_stock_sliver_is_refused_without_decoding(sliver_file, tmp_path):
    """Remote images and stock photos share fit_to_jpeg; its area-only check let this pass."""
    spec = ImageSpec(width=108, height=192)
    client = make_client("http://127.0.0.1:9", "sk-unused")  # only names the upstream in errors
    with peak_rss_growth() as growth, pytest.raises(UpstreamBadResponse):
        fit_to_jpeg(client, sliver_file, spec, tmp_path / "scene_000.jpg")
    assert growth[0] < DECODE_MB, f"peak memory rose {growth[0]} MB: the pixels were decoded"
    assert not (tmp_path / "scene_000.jpg").exists()


def test_an_exif_rotated_upload_is_rendered_upright(tmp_path):
    """Stored 200x100 with red left / blue right; Orientation 6 shows it turned clockwise,
    so the upright picture is 100x200 with red on top."""
    path = tmp_path / "phone.jpg"
    path.write_bytes(rotated_jpeg((200, 100), orientation=6))
    img = load_manual_image(path, 100, 200)
    assert img.size == (100, 200)
    top, bottom = img.getpixel((50, 40)), img.getpixel((50, 160))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom
