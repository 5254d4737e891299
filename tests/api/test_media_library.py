"""The media library: pictures and sounds told apart by their bytes, normalised, limited,
listed per user, and nameable by id from jobs and script scenes (never by a path)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from sora_app import create_app
from sora_app.pipeline.ffmpeg import ffmpeg_exe
from sora_app.pipeline.probe import probe
from tests.api.test_auth import bearer, register
from tests.conftest import FAST_JOB, app_config, close_app, local_uploads, wait_for_job
from tests.images import encoded, rotated_jpeg, tall_png


def sound(tmp: Path, seconds: float, fmt: str = "mp3", freq: int = 440) -> bytes:
    """A real encoded tone, as an audio editor would export it."""
    out = tmp / f"tone_{seconds}_{freq}.{fmt}"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", f"sine=f={freq}:d={seconds}",
         "-ac", "1", "-ar", "44100", "-y", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


def post(client, data: bytes, name: str, headers: dict | None = None):
    return client.post(
        "/api/media", data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data", headers=headers or {},
    )  # fmt: skip


@pytest.fixture
def limited(tmp_path: Path):
    """Short sound limit and small uploads, so the limits are cheap to reach."""
    config = {**app_config(tmp_path), "MAX_AUDIO_SECONDS": 5.0, "MAX_UPLOAD_BYTES": 400_000}
    app = create_app(config)
    yield app
    close_app(app)


def test_a_sound_is_kept_as_aac_with_its_length_and_served_back(client, tmp_path):
    made = post(client, sound(tmp_path, 3.0, "mp3"), "../../theme.mp3")
    assert made.status_code == 201, made.get_json()
    item = made.get_json()
    assert item["kind"] == "audio" and item["mime"] == "audio/mp4"
    assert item["duration"] == pytest.approx(3.0, abs=0.1)
    assert item["original_name"] == "theme.mp3" and item["name"] == f"{item['id']}.m4a"
    content = client.get(item["url"])
    assert content.status_code == 200 and content.headers["Content-Type"] == "audio/mp4"
    kept = tmp_path / "kept.m4a"
    kept.write_bytes(content.data)
    info = probe(kept)
    assert info.audio_codec == "aac" and info.audio_sample_rate == 48000 and not info.has_video
    ranged = client.get(item["url"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.data) == 100
    for fmt in ("wav", "flac", "ogg"):
        other = post(client, sound(tmp_path, 1.0, fmt), f"take.{fmt}")
        assert other.status_code == 201 and other.get_json()["kind"] == "audio", other.get_json()


def test_pictures_are_stored_upright_in_srgb_and_listed_apart_from_sounds(client, app, tmp_path):
    turned = post(client, rotated_jpeg((64, 32), orientation=6), "phone.jpg").get_json()
    assert (turned["kind"], turned["width"], turned["height"]) == ("image", 32, 64)
    p3 = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))  # any non-sRGB profile
    wide = Image.new("RGB", (40, 40), (200, 60, 60))
    with_profile = encoded(wide, "JPEG", icc_profile=p3.tobytes())
    graded = post(client, with_profile, "wide.jpg").get_json()
    with Image.open(local_uploads(app) / graded["name"]) as stored:
        assert "icc_profile" not in stored.info, "converted to sRGB, so no profile is needed"
    post(client, sound(tmp_path, 1.0), "a.mp3")

    everything = client.get("/api/media").get_json()
    assert everything["total"] == 3 and everything["page"] == 1
    assert [m["kind"] for m in everything["media"]] == ["audio", "image", "image"]  # newest first
    pictures = client.get("/api/media?kind=image&limit=1").get_json()
    assert pictures["total"] == 2 and len(pictures["media"]) == 1 and pictures["has_more"]
    assert client.get(f"/api/media/{turned['id']}").get_json() == turned
    old_door = client.get("/api/uploads").get_json()["uploads"]
    assert {u["path"] for u in old_door} == {turned["name"], graded["name"]}

    assert client.delete(f"/api/media/{turned['id']}").status_code == 204
    assert not (local_uploads(app) / turned["name"]).exists()
    gone = client.get(f"/api/media/{turned['id']}")
    assert gone.status_code == 404 and gone.get_json()["error"] == "MEDIA_NOT_FOUND"
    assert client.get("/api/media?kind=video").status_code == 400


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "song.mp3", "UNSUPPORTED_MEDIA"),
        (b"just some words, not a picture", "picture.png", "UNSUPPORTED_MEDIA"),
        (b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 64, "cut.mp3", "UNSUPPORTED_MEDIA"),
    ],
)
def test_what_is_neither_a_picture_nor_a_sound_is_refused_by_its_bytes(client, app, data, name,
                                                                      error):  # fmt: skip
    answer = post(client, data, name)
    assert answer.status_code == 400, answer.get_json()
    assert (answer.get_json()["error"], answer.get_json()["field"]) == (error, "file")
    assert list(local_uploads(app).iterdir()) == []


def test_limits_are_4xx_in_the_error_shape_and_leave_nothing_behind(limited, tmp_path):
    client = limited.test_client()
    too_long = post(client, sound(tmp_path, 12.0, "mp3"), "long.mp3")
    assert too_long.status_code == 400 and too_long.get_json()["error"] == "AUDIO_TOO_LONG"
    too_big = post(client, np.random.default_rng(1).bytes(500_000), "big.wav")
    assert too_big.status_code == 413, too_big.data[:200]
    assert too_big.get_json()["error"]
    bomb = post(client, tall_png(39_000_000), "sliver.png")
    assert bomb.status_code == 400 and bomb.get_json()["error"] == "INVALID_IMAGE"
    assert list(local_uploads(limited).iterdir()) == []
    assert client.get("/api/media").get_json()["total"] == 0


def test_media_are_named_by_id_and_another_users_are_missing(tmp_path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    client = app.test_client()
    ana = bearer(register(client, "ana")["access_token"])
    ben = bearer(register(client, "ben")["access_token"])
    picture = post(client, encoded(Image.new("RGB", (64, 48), "red"), "PNG"), "r.png", ana)
    media_id = picture.get_json()["id"]
    item = f"/api/media/{media_id}"
    for method, url in [("get", item), ("get", f"{item}/content"), ("delete", item)]:
        answer = getattr(client, method)(url, headers=ben)
        assert answer.status_code == 404 and answer.get_json()["error"] == "MEDIA_NOT_FOUND"
    assert client.get("/api/media", headers=ben).get_json()["total"] == 0
    job = {"topic": "x", "duration": 0.2, "image_mode": "mixed", "manual_image_paths": [media_id]}
    stolen = client.post("/api/generate-video", json=job, headers=ben)
    assert stolen.status_code == 400 and stolen.get_json()["field"] == "manual_image_paths[0]"
    scene = {"title": "T", "scenes": [{"narration": "One line.", "media": media_id}]}
    refused = client.post("/api/scripts", json=scene, headers=ben)
    assert refused.status_code == 400 and refused.get_json()["field"] == "scenes[0].media"
    for path in ("../../etc/passwd", "/etc/hostname", media_id + ".jpg/.."):
        body = {"title": "T", "scenes": [{"narration": "x", "media": path}]}
        bad = client.post("/api/scripts", headers=ana, json=body)
        assert bad.status_code == 400, (path, bad.get_json())
    mine = client.post("/api/scripts", json=scene, headers=ana)
    assert mine.status_code == 201 and mine.get_json()["scenes"][0]["media"] == media_id
    accepted = client.post("/api/generate-video", json=job, headers=ana)
    assert accepted.status_code == 202, accepted.get_json()
    close_app(app)


def _band_ratio(video: Path, freq: float) -> float:
    """Energy at `freq` against the bands beside it, over the whole soundtrack."""
    import av

    with av.open(str(video)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        samples = np.concatenate([
            out.to_ndarray().ravel()
            for frame in container.decode(audio=0) for out in resampler.resample(frame)
        ])  # fmt: skip
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    hz = np.fft.rfftfreq(len(samples), 1 / 16000)
    at = spectrum[(hz > freq - 5) & (hz < freq + 5)].mean()
    beside = spectrum[((hz > freq - 80) & (hz < freq - 20)) | ((hz > freq + 20) & (hz < freq + 80))]
    return float(at / beside.mean())


def test_a_library_sound_is_the_music_bed_of_a_job(running_app, tmp_path):
    client = running_app.test_client()
    track = post(client, sound(tmp_path, 2.0, "wav", freq=1000), "bell.wav").get_json()
    picture = post(client, encoded(Image.new("RGB", (64, 48), "red"), "PNG"), "r.png").get_json()
    wrong = client.post("/api/generate-video", json={**FAST_JOB, "music_track": picture["id"]})
    assert wrong.status_code == 400 and wrong.get_json()["field"] == "music_track"
    job = {**FAST_JOB, "music": True, "music_track": track["id"]}
    answer = client.post("/api/generate-video", json=job)
    assert answer.status_code == 202, answer.get_json()
    done = wait_for_job(lambda url: client.get(url).get_json(), answer.get_json()["job_id"])
    assert done["status"] == "complete", done
    video = Path(running_app.config["VIDEOS_DIR"]) / done["video_path"]
    # The bed sits 12 dB under the voice and ducks beneath it, yet its pure tone still
    # stands out of the spectrum (without a bed this ratio measures about 0.2).
    assert _band_ratio(video, 1000.0) > 1.5, "the uploaded tone plays under the video"
    assert probe(video).duration > 2.0 * 2, "a 2 s track looped to the video's length"
