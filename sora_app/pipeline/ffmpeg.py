"""Run the bundled ffmpeg with progress, cancellation, a stall limit and readable errors.

Every media stage goes through `run_ffmpeg`, so progress reporting, cancel handling, killing a
hung ffmpeg (no `-progress` advance for `stall_seconds`) and "never leave a zombie ffmpeg
behind" live in one place.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO

from sora_app.pipeline.types import CancelCheck, Cancelled, ProgressFn, StageError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
"""How often the cancel flag and progress are checked (the brief requires ≤ 0.2 s)."""
STDERR_TAIL_LINES = 12
STDERR_MESSAGE_CHARS = 800
STALL_SECONDS = 60.0
"""Default stall limit (SORA_FFMPEG_STALL_SECONDS): a healthy encode advances every ~0.5 s."""
_ADVANCE_KEYS = ("out_time_us", "out_time_ms", "frame", "total_size")
"""`-progress` counters that only grow while ffmpeg really works (speed/bitrate do not count)."""


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Locate ffmpeg once; the imageio-ffmpeg static build has every filter we rely on."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and os.path.exists(exe):
            return exe
    except (ImportError, RuntimeError) as exc:  # pragma: no cover - depends on install
        log.warning("event=ffmpeg_lookup_failed source=imageio_ffmpeg error=%s", exc)
    found = shutil.which("ffmpeg")
    if found:  # pragma: no cover - depends on install
        return found
    raise StageError("FFMPEG_MISSING", "ffmpeg was not found (install imageio-ffmpeg)")


class _Progress:
    """Latest encode position written by the reader thread, read by the polling loop."""

    def __init__(self) -> None:
        self.out_us = 0
        self.ended = False
        self.advanced_at = time.monotonic()
        """When a counter last grew: ffmpeg (9) keeps printing blocks while stuck, so lines
        alone do not prove progress."""
        self._seen: dict[str, int] = {}

    def feed(self, stream: IO[bytes]) -> None:
        """Parse `-progress` key=value lines until ffmpeg closes its stdout."""
        for raw in iter(stream.readline, b""):
            key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
            if key in _ADVANCE_KEYS and value.strip().lstrip("-").isdigit():
                self._count(key, int(value))
            elif key == "progress" and value == "end":
                self.ended = True
                self.advanced_at = time.monotonic()

    def _count(self, key: str, number: int) -> None:
        """Only a counter that grew is progress; a repeated block is not."""
        if number > self._seen.get(key, 0):
            self._seen[key] = number
            self.advanced_at = time.monotonic()
        if key in ("out_time_us", "out_time_ms"):
            # out_time_ms is microseconds too (a long-standing ffmpeg quirk).
            self.out_us = max(self.out_us, number)


def _drain_stderr(stream: IO[bytes], tail: deque[str]) -> None:
    """Keep only the last stderr lines, so a chatty ffmpeg can never block on a full pipe."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail.append(line)


def _error_message(label: str, code: int, tail: deque[str]) -> str:
    """Trim ffmpeg's last words into something a user (and a log line) can hold."""
    text = " | ".join(tail) or "no error output"
    if len(text) > STDERR_MESSAGE_CHARS:
        text = "…" + text[-STDERR_MESSAGE_CHARS:]
    return f"{label} failed (ffmpeg exit {code}): {text}"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill and reap, so no zombie is left whatever happened."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - kernel would have to stall
        log.error("event=ffmpeg_unreaped pid=%s", proc.pid)


PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None
"""Looked up once here: the forked child must not dlopen (loader locks + threads = deadlock)."""


def _die_with_parent() -> None:
    """Runs in the child before exec: if the server process dies, the kernel kills ffmpeg.

    Otherwise an orphaned ffmpeg would keep writing the temp file that the resumed job
    (in a new process) writes again.
    """
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def run_ffmpeg(
    args: Sequence[str],
    total_seconds: float,
    progress: ProgressFn,
    should_cancel: CancelCheck,
    label: str,
    cwd: Path | None = None,
    stall_seconds: float = STALL_SECONDS,
) -> None:
    """Run one ffmpeg job with out_time/total progress; raise on cancel, failure or a stall."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    cmd += ["-progress", "pipe:1", "-nostats", *args]
    log.info("event=ffmpeg_start label=%r total_s=%.2f args=%d", label, total_seconds, len(args))
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        preexec_fn=_die_with_parent if _PRCTL is not None else None,
    )
    state, tail = _Progress(), deque[str](maxlen=STDERR_TAIL_LINES)
    readers = [
        threading.Thread(target=state.feed, args=(proc.stdout,), daemon=True),
        threading.Thread(target=_drain_stderr, args=(proc.stderr, tail), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        watch = _Watch(should_cancel, stall_seconds, label)
        reported = _poll(proc, state, total_seconds, progress, watch)
    finally:
        _kill(proc)
        for reader in readers:
            reader.join(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        message = _error_message(label, proc.returncode, tail)
        log.warning(
            "event=ffmpeg_failed label=%r code=%s elapsed_s=%.2f", label, proc.returncode, elapsed
        )
        raise StageError("FFMPEG_FAILED", message)
    if reported < 1.0:
        progress(1.0, f"{label} 100%")
    log.info("event=ffmpeg_done label=%r elapsed_s=%.2f", label, elapsed)


@dataclass(frozen=True)
class _Watch:
    """What stops a running ffmpeg besides its own exit: a cancel, or no progress for a while."""

    should_cancel: CancelCheck
    stall_seconds: float
    label: str

    def check(self, proc: subprocess.Popen[bytes], state: _Progress) -> None:
        """Kill ffmpeg and raise if the job was cancelled or the encode stopped advancing."""
        if self.should_cancel():
            log.info("event=ffmpeg_cancelled label=%r pid=%s", self.label, proc.pid)
            _kill(proc)
            raise Cancelled(self.label)
        stalled = time.monotonic() - state.advanced_at > self.stall_seconds
        if stalled and proc.poll() is None:  # one that just exited is judged by its exit code
            log.warning(
                "event=ffmpeg_stalled label=%r pid=%s stall_s=%g out_s=%.2f",
                self.label, proc.pid, self.stall_seconds, state.out_us / 1e6,
            )  # fmt: skip
            _kill(proc)
            raise StageError(
                "FFMPEG_STALLED",
                f"{self.label} stalled: ffmpeg made no progress for {self.stall_seconds:g} s "
                f"(stuck at {state.out_us / 1e6:.1f} s of output) and was stopped",
            )


def _poll(
    proc: subprocess.Popen[bytes],
    state: _Progress,
    total_seconds: float,
    progress: ProgressFn,
    watch: _Watch,
) -> float:
    """Wait for ffmpeg while forwarding monotonic progress and honouring cancel and stalls."""
    last = -1.0
    while True:
        watch.check(proc, state)
        done = proc.poll() is not None
        if done:
            return last
        if total_seconds > 0:
            fraction = min(1.0, max(0.0, state.out_us / 1e6 / total_seconds))
            if fraction > last:
                last = fraction
                progress(fraction, f"{watch.label} {int(fraction * 100)}%")
        time.sleep(POLL_SECONDS)
