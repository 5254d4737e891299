"""Real-ffmpeg tests of the compile stage on tiny inputs (180x320, a few seconds)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sora_app.pipeline.compile import compile_video, plan_clips
from sora_app.pipeline.compile_audio import Bed, audio_graph
from sora_app.pipeline.probe import decode_frame_at, probe
from sora_app.pipeline.types import Cancelled, CompileOptions, Cue, Narration, StageError

W, H = 180, 320
SPANS = [(0.0, 1.4), (1.4, 2.8), (2.8, 4.0)]
COLOURS = [(200, 40, 40), (40, 160, 60), (40, 60, 200)]


def _image(path: Path, colour: tuple[int, int, int], seed: int) -> Path:
    """A gradient with stripes and dots, so a moving crop visibly changes pixels."""
    x = np.linspace(0.4, 1.0, W)[None, :, None]
    y = np.linspace(1.0, 0.5, H)[:, None, None]
    arr = (np.array(colour)[None, None, :] * x * y).astype(np.uint8).repeat(1, 0)
    img = Image.fromarray(np.broadcast_to(arr, (H, W, 3)).copy())
    draw = ImageDraw.Draw(img)
    rng = np.random.default_rng(seed)
    stripe = tuple(min(255, c + 50) for c in colour)
    for k in range(0, W + H, 24):
        draw.line([(k, 0), (k - H, H)], fill=stripe, width=4)
    for _ in range(12):
        cx, cy, r = int(rng.integers(0, W)), int(rng.integers(0, H)), int(rng.integers(6, 20))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(20, 20, 20))
    img.save(path, quality=92)
    return path


def _wav(path: Path, seconds: float, rate: int = 22050) -> Path:
    """A mono tone with a little noise: stands in for speech."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    sig = 0.3 * np.sin(2 * np.pi * 200 * t) + 0.02 * rng.normal(size=t.size)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((np.clip(sig, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Narration, Path]:
    root = tmp_path_factory.mktemp("compile_inputs")
    images = [_image(root / f"scene{i}.jpg", c, i) for i, c in enumerate(COLOURS)]
    cues = [
        Cue(0.1, 1.3, "The {door} opened \\N slowly.", 0),
        Cue(1.5, 2.7, "Nobody\nwas there.", 1),
        Cue(2.9, 3.9, "Then the lights went out.", 2),
    ]
    narration = Narration(_wav(root / "voice.wav", 4.0), 4.0, cues, list(SPANS))
    return images, narration, root


def _opts(**kw: object) -> CompileOptions:
    base: dict = {"width": W, "height": H, "fps": 30, "pacing": "moderate", "seed": 3}
    base.update(kw)
    return CompileOptions(**base)


@pytest.fixture(scope="module")
def compiled(inputs, tmp_path_factory):
    images, narration, _ = inputs
    out = tmp_path_factory.mktemp("compiled") / "video.part.mp4"
    calls: list[tuple[float, str]] = []
    info = compile_video(images, narration, out, _opts(), lambda f, s: calls.append((f, s)))
    return info, calls


@pytest.fixture(scope="module")
def no_subs(inputs, tmp_path_factory):
    images, narration, _ = inputs
    out = tmp_path_factory.mktemp("nosubs") / "video.mp4"
    return compile_video(images, narration, out, _opts(subtitles=False, music=False), _noop)


def _noop(_fraction: float, _status: str) -> None:
    return None


def _diff(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int] | None = None) -> float:
    """Mean absolute pixel difference, optionally inside a box."""
    if box:
        a, b = a.crop(box), b.crop(box)
    return float(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).mean())


def _changed(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    """Share of pixels in `box` whose colour changed by more than encoder noise."""
    diff = np.abs(np.asarray(a.crop(box), np.int16) - np.asarray(b.crop(box), np.int16))
    return float((diff.max(axis=2) > 60).mean())


def test_streams_size_and_duration(compiled) -> None:
    info, _ = compiled
    media = probe(info.path)
    assert (media.video_codec, media.audio_codec) == ("h264", "aac")
    assert (media.width, media.height) == (W, H) == (info.width, info.height)
    assert media.fps == pytest.approx(30, abs=0.01)
    assert media.duration == pytest.approx(4.0, abs=0.1)
    assert info.duration == pytest.approx(4.0, abs=0.1)
    assert info.size_bytes == info.path.stat().st_size > 0
    assert info.thumbnail is not None and info.thumbnail.is_file()
    assert Image.open(info.thumbnail).size == (W, H)
    # The poster frame is the picture at 1 s (captions included), not a blank or a stray frame.
    poster = Image.open(info.thumbnail).convert("RGB")
    assert _diff(poster, decode_frame_at(info.path, 1.0)) < 6.0
    assert _diff(poster, decode_frame_at(info.path, 3.5)) > 6.0


def _top_level_boxes(path: Path) -> list[str]:
    """MP4 top-level box types in file order."""
    boxes, data = [], path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:
            size = len(data) - pos
        boxes.append(kind)
        pos += max(size, 8)
    return boxes


def test_faststart_moov_before_mdat(compiled) -> None:
    boxes = _top_level_boxes(compiled[0].path)
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat")


def test_subtitles_are_burned_in(compiled, no_subs) -> None:
    with_subs = decode_frame_at(compiled[0].path, 2.2)
    without = decode_frame_at(no_subs.path, 2.2)
    band = (0, int(H * 0.5), W, int(H * 0.8))
    top, bottom = (0, 0, W, int(H * 0.5)), (0, int(H * 0.8), W, H)
    # Text is white on a dark outline: many pixels change by a lot, only in the lower middle
    # (9:16 captions keep clear of the apps' bottom overlay, see subtitles.PORTRAIT_SAFE).
    assert _changed(with_subs, without, band) > 0.01
    assert _changed(with_subs, without, top) < 0.002
    assert _changed(with_subs, without, bottom) < 0.002


def test_motion_within_a_scene(no_subs) -> None:
    early = decode_frame_at(no_subs.path, 0.1)
    late = decode_frame_at(no_subs.path, 1.0)
    assert _diff(early, late) > 2.0


def test_crossfade_at_scene_boundary(no_subs) -> None:
    first = np.asarray(decode_frame_at(no_subs.path, 0.7), float).mean(axis=(0, 1))
    second = np.asarray(decode_frame_at(no_subs.path, 2.1), float).mean(axis=(0, 1))
    mid = np.asarray(decode_frame_at(no_subs.path, 1.4), float).mean(axis=(0, 1))
    # A dissolve is a blend: its mean colour lies strictly between the two scenes'.
    assert np.abs(mid - first).sum() > 15 and np.abs(mid - second).sum() > 15
    lo, hi = np.minimum(first, second) - 8, np.maximum(first, second) + 8
    assert np.all((mid >= lo) & (mid <= hi))


def test_audio_graph_leaves_loudness_to_narration() -> None:
    graph = ";".join(audio_graph(3, 4.0, Bed("calm", 0.0), seed=1))
    assert "loudnorm" not in graph and "amix" in graph and "aresample=48000" in graph
    assert "sidechaincompress" in graph


def test_progress_monotonic_and_complete(compiled) -> None:
    fractions = [f for f, _ in compiled[1]]
    assert fractions and fractions[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions == sorted(fractions)
    assert all(s.startswith("Encoding video") for _, s in compiled[1])


def _ffmpeg_children() -> list[str]:
    """Names of this process's live or zombie ffmpeg children."""
    names = []
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            comm = Path(f"/proc/{pid}/comm")
            if comm.exists() and "ffmpeg" in comm.read_text():
                names.append(pid)
    return names


def test_cancel_kills_and_cleans_up(inputs, tmp_path) -> None:
    images, narration, _ = inputs
    out = tmp_path / "cancelled.mp4"
    polls = iter(range(1000))
    with pytest.raises(Cancelled):
        compile_video(images, narration, out, _opts(), _noop, lambda: next(polls) >= 1)
    assert not out.exists()
    assert not any(p.name.startswith(".compile-") for p in tmp_path.iterdir())
    assert _ffmpeg_children() == []


def test_mismatched_inputs_rejected(inputs, tmp_path) -> None:
    images, narration, _ = inputs
    with pytest.raises(StageError) as err:
        compile_video(images[:2], narration, tmp_path / "x.mp4", _opts(), _noop)
    assert err.value.code == "COMPILE_INPUT"
    with pytest.raises(StageError) as err:
        missing = [*images[:2], tmp_path / "nope.jpg"]
        compile_video(missing, narration, tmp_path / "x.mp4", _opts(), _noop)
    assert err.value.code == "COMPILE_INPUT" and "nope.jpg" in err.value.message


def test_ffmpeg_failure_surfaces_stage_error(inputs, tmp_path) -> None:
    images, narration, _ = inputs
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a jpeg at all" * 10)
    out = tmp_path / "fail.mp4"
    with pytest.raises(StageError) as err:
        compile_video([images[0], broken, images[2]], narration, out, _opts(), _noop)
    assert err.value.code == "FFMPEG_FAILED"
    assert "ffmpeg exit" in err.value.message and len(err.value.message) < 1000
    assert not out.exists()


def test_plan_clips_sums_to_duration() -> None:
    spans = [(0.0, 2.0), (2.0, 2.5), (2.5, 6.0)]
    clips, fade, total = plan_clips(spans, 6.0, 30, 0.8)
    assert total == 180
    assert fade == 14  # limited by the 0.5 s middle scene (15 frames -> 7 each side)
    assert sum(c.frames for c in clips) - fade * (len(clips) - 1) == total
    assert [c.start for c in clips] == [0, 53, 68]
