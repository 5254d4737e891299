"""Small real-ffmpeg tests for the ffmpeg runner, the PyAV probe and the ASS writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from sora_app.pipeline.ffmpeg import run_ffmpeg
from sora_app.pipeline.probe import decode_frame_at, probe
from sora_app.pipeline.subtitles import escape_text, fonts_dir, write_ass
from sora_app.pipeline.types import Cancelled, Cue, StageError


def _noop(_fraction: float, _status: str) -> None:
    return None


def _testsrc(out: Path, seconds: float, progress=_noop, cancel=lambda: False) -> None:
    args = ["-f", "lavfi", "-i", f"testsrc2=s=64x48:r=10:d={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-y", str(out)]
    run_ffmpeg(args, seconds, progress, cancel, "Test clip")


def test_run_ffmpeg_reports_progress_and_probe_reads_it(tmp_path: Path) -> None:
    calls: list[tuple[float, str]] = []
    out = tmp_path / "clip.mp4"
    _testsrc(out, 2.0, lambda f, s: calls.append((f, s)))
    fractions = [f for f, _ in calls]
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert calls[-1][1] == "Test clip 100%"
    info = probe(out)
    assert info.has_video and not info.has_audio
    assert (info.video_codec, info.width, info.height) == ("h264", 64, 48)
    assert info.duration == pytest.approx(2.0, abs=0.15)
    assert decode_frame_at(out, 1.0).size == (64, 48)


def test_run_ffmpeg_failure_has_stderr_tail(tmp_path: Path) -> None:
    with pytest.raises(StageError) as err:
        run_ffmpeg(["-i", str(tmp_path / "missing.wav"), "-f", "null", "-"], 1, _noop,
                   lambda: False, "Mixing")  # fmt: skip
    assert err.value.code == "FFMPEG_FAILED"
    assert err.value.message.startswith("Mixing failed") and "missing.wav" in err.value.message


def test_run_ffmpeg_cancel_raises(tmp_path: Path) -> None:
    with pytest.raises(Cancelled):
        _testsrc(tmp_path / "long.mp4", 600.0, cancel=lambda: True)


def test_probe_rejects_garbage(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not media" * 50)
    for path in (junk, tmp_path / "absent.mp4"):
        with pytest.raises(StageError) as err:
            probe(path)
        assert err.value.code == "BAD_MEDIA"


def test_escape_text_neutralises_ass_codes() -> None:
    assert escape_text("a {\\b1} b") == "a \\{\\\u2060b1\\} b"
    assert escape_text("one\ntwo\r\nthree") == "one\\Ntwo\\Nthree"
    assert "\\N" not in escape_text("C:\\New")


def test_write_ass_scales_with_frame(tmp_path: Path) -> None:
    path = write_ass([Cue(0.0, 61.5, "Hello {world}", 0), Cue(2, 2, "empty", 0)],
                     tmp_path / "s.ass", 1080, 1920)  # fmt: skip
    text = path.read_text(encoding="utf-8")
    assert "PlayResX: 1080" in text and "PlayResY: 1920" in text
    assert "Style: Caption,Roboto,67," in text and ",-1,0,0,0," in text  # bold
    assert "Dialogue: 0,0:00:00.00,0:01:01.50,Caption,,0,0,0,,Hello \\{world\\}" in text
    assert text.count("Dialogue:") == 1  # zero-length cue dropped
    assert (fonts_dir() / "Roboto-Bold.ttf").is_file()
