"""A hung ffmpeg is killed with a clear error, and a cancel kills a running one (real ffmpeg).

The stall is real: ffmpeg reads a FIFO that gets no (more) data. The stall limit is tiny;
a safety cancel (long after any sane stall limit) keeps a regression from hanging the suite.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sora_app.config import load_settings
from sora_app.pipeline.ffmpeg import run_ffmpeg
from sora_app.pipeline.types import CancelCheck, Cancelled, StageError
from tests.procs import child_pids, is_running

STALL = 0.5
MID_STREAM_STALL = 1.5
"""ffmpeg writes its first -progress block after 0.5 s; later blocks repeat the same counters."""
SAFETY_SECONDS = 30.0
"""Only a broken stall check gets here: it then fails as Cancelled instead of hanging."""


@pytest.fixture
def safety() -> CancelCheck:
    deadline = time.monotonic() + SAFETY_SECONDS
    return lambda: time.monotonic() > deadline


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "audio.fifo"
    os.mkfifo(path)
    yield path


def _read_fifo_args(fifo: Path) -> list[str]:
    """Raw 8 kHz mono PCM from the FIFO into a null muxer: it waits on the FIFO forever."""
    return ["-f", "s16le", "-ar", "8000", "-ac", "1", "-i", str(fifo), "-f", "null", "-"]


def _no_ffmpeg_children() -> bool:
    return not [pid for pid in child_pids(os.getpid(), b"ffmpeg") if is_running(pid)]


def test_ffmpeg_waiting_for_input_that_never_comes_is_killed(
    fifo: Path, safety: CancelCheck
) -> None:
    with pytest.raises(StageError) as caught:
        args = _read_fifo_args(fifo)
        run_ffmpeg(args, 10, lambda f, m: None, safety, "Encoding video", stall_seconds=STALL)
    err = caught.value
    assert err.code == "FFMPEG_STALLED"
    assert "Encoding video stalled" in err.message and "0.5 s" in err.message
    assert _no_ffmpeg_children()


def test_ffmpeg_that_stops_advancing_mid_stream_is_killed(fifo: Path, safety: CancelCheck) -> None:
    """Some input, then silence with the writer still open: ffmpeg blocks mid-encode."""
    writer = os.open(fifo, os.O_RDWR)  # O_RDWR: opening does not wait for a reader
    try:
        os.write(writer, b"\0" * 16_000)  # one second of audio, then nothing more
        seen: list[float] = []
        args, limit = _read_fifo_args(fifo), MID_STREAM_STALL
        with pytest.raises(StageError) as caught:
            run_ffmpeg(args, 10, lambda f, m: seen.append(f), safety, "Mix", stall_seconds=limit)
    finally:
        os.close(writer)
    assert caught.value.code == "FFMPEG_STALLED"
    assert max(seen) > 0, "it should have advanced before it stalled"
    assert "stuck at 1.0 s of output" in caught.value.message
    assert _no_ffmpeg_children()


def test_cancel_kills_a_running_ffmpeg(tmp_path: Path) -> None:
    """A long real encode; the cancel is raised once it has reported progress."""
    running = threading.Event()
    args = ["-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "600"]
    args += ["-f", "null", "-"]

    def progress(fraction: float, _status: str) -> None:
        if fraction > 0:
            running.set()

    with pytest.raises(Cancelled):
        run_ffmpeg(args, 600, progress, running.is_set, "Encoding video")
    assert _no_ffmpeg_children()


def test_stall_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA_FFMPEG_STALL_SECONDS", "7.5")
    assert load_settings().FFMPEG_STALL_SECONDS == 7.5
    monkeypatch.delenv("SORA_FFMPEG_STALL_SECONDS")
    assert load_settings().FFMPEG_STALL_SECONDS == 60.0
