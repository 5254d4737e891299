"""An ffmpeg started by a server process dies with it (no orphan keeps writing output)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.procs import child_pids, is_running

CHILD = """
import sys
from sora_app.pipeline.ffmpeg import run_ffmpeg
args = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "600", "-c:v", "libx264",
        "-preset", "ultrafast", "-y", sys.argv[1]]
run_ffmpeg(args, 600, lambda f, m: print("progress", flush=True), lambda: False, "orphan test")
"""


def test_ffmpeg_is_killed_when_its_parent_process_dies(tmp_path):
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "out.mp4")],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout.readline().strip() == "progress"
    ffmpeg = child_pids(parent.pid)
    assert ffmpeg, "ffmpeg should be running as a child"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(is_running(pid) for pid in ffmpeg):
        time.sleep(0.05)
    assert not any(is_running(pid) for pid in ffmpeg), "ffmpeg outlived the process that ran it"
