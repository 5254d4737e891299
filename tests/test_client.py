"""`python -m sora_app.client` against a real gunicorn server, run as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sora_app.pipeline.probe import probe
from tests.conftest import FAST_JOB, ROOT, free_port, serve

CREDENTIALS = ("SORA_API_KEY", "SORA_TOKEN", "SORA_SERVER_URL", "DISPLAY", "WAYLAND_DISPLAY")
FAST_OPTIONS = [
    "--topic", FAST_JOB["topic"], "--story-type", FAST_JOB["story_type"],
    "--voice", FAST_JOB["voice_id"], "--duration", str(FAST_JOB["duration"]),
    "--scenes", str(FAST_JOB["num_scenes"]), "--aspect-ratio", FAST_JOB["aspect_ratio"],
    "--no-music", "--character", "Sarah:keeper of the light", "--keyword", "lighthouse",
]  # fmt: skip


def client_env(base: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    return {**env, "SORA_SERVER_URL": base, "PYTHONPATH": str(ROOT), **extra}


def run_client(
    base: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sora_app.client", *args],
        cwd=cwd, env=env or client_env(base), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    yield from serve(tmp_path_factory.mktemp("client"))


def wait_for_state(base: str, job_id: str, states: set[str], cwd: Path) -> dict:
    """Poll the client's `status --json` until the job is in one of `states`."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        result = run_client(base, "status", job_id, "--json", cwd=cwd)
        assert result.returncode == 0, result.stderr
        view = json.loads(result.stdout)
        if view["state"] in states:
            return view
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {states}")


def test_generate_waits_with_progress_then_downloads_a_playable_video(server, tmp_path):
    out = tmp_path / "story.mp4"
    made = run_client(server, "generate", *FAST_OPTIONS, "--wait", "--output", str(out),
                      "--json", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    final = json.loads(made.stdout)
    assert final["status"] == "complete" and final["output"] == str(out)
    info = probe(out)
    assert info.has_video and info.has_audio and info.duration > 3
    assert (info.width, info.height) == (1080, 1920)
    assert not list(tmp_path.glob(".*.part"))  # the temp name was renamed
    lines = made.stderr.splitlines()
    seen = {word for word in ("script", "images", "narration", "compiling") if word in made.stderr}
    assert "compiling" in seen and len(seen) >= 2, made.stderr
    assert lines[-1].startswith("100% done"), made.stderr
    percents = [int(line[:3]) for line in lines if line[:4].strip().endswith("%")]
    assert percents == sorted(percents) and percents[-1] == 100

    job_id = final["job_id"]
    shown = run_client(server, "status", job_id, cwd=tmp_path)
    assert shown.returncode == 0 and "complete" in shown.stdout and "100%" in shown.stdout
    listed = run_client(server, "list", "--json", "--status", "completed", cwd=tmp_path)
    assert job_id in [video["id"] for video in json.loads(listed.stdout)["videos"]]
    table = run_client(server, "list", cwd=tmp_path)
    assert table.returncode == 0 and job_id in table.stdout

    fetched = run_client(server, "download", job_id, cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / fetched.stdout.strip()).read_bytes() == out.read_bytes()
    url = run_client(server, "open", job_id, cwd=tmp_path).stdout.strip()  # no display: a URL
    assert url.startswith(server) and requests.get(url, timeout=30).content == out.read_bytes()


def test_cancel_stops_a_running_job(server, tmp_path):
    started = run_client(server, "generate", *FAST_OPTIONS, "--json", cwd=tmp_path)
    job_id = json.loads(started.stdout)["job_id"]
    wait_for_state(server, job_id, {"running"}, tmp_path)
    cancelled = run_client(server, "cancel", job_id, cwd=tmp_path)
    assert cancelled.returncode == 0 and cancelled.stdout.split()[-1] == job_id
    assert (
        wait_for_state(server, job_id, {"cancelled", "completed"}, tmp_path)["state"] == "cancelled"
    )
    again = run_client(server, "cancel", job_id, cwd=tmp_path)
    assert again.returncode == 2 and "JOB_FINISHED" in again.stderr


def test_ctrl_c_while_waiting_cancels_when_asked_to(server, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "sora_app.client", "generate", *FAST_OPTIONS, "--wait",
         "--cancel-on-interrupt", "--progress", "plain"],
        cwd=tmp_path, env=client_env(server), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    job_id = proc.stderr.readline().split()[-1]
    while "script" not in (line := proc.stderr.readline()) and line:
        pass  # until the job is running
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130, rest
    assert f"cancelled job {job_id}" in rest
    assert wait_for_state(server, job_id, {"cancelled"}, tmp_path)["state"] == "cancelled"


def test_a_refused_request_is_one_line_naming_the_field(server, tmp_path):
    bad = run_client(server, "generate", "--topic", "x", "--pacing", "glacial", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "VALIDATION_ERROR" in bad.stderr and "(field: pacing)" in bad.stderr
    missing = run_client(server, "status", "0" * 32, cwd=tmp_path)
    assert missing.returncode == 2 and "JOB_NOT_FOUND" in missing.stderr


def test_an_unreachable_server_is_named(tmp_path):
    base = f"http://127.0.0.1:{free_port()}"
    result = run_client(base, "list", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.strip().startswith(f"The server is not reachable at {base}")
    assert "Traceback" not in result.stderr


def test_credentials_come_from_the_environment_in_required_mode(tmp_path):
    (tmp_path / "srv").mkdir()
    servers = serve(tmp_path / "srv", SORA_AUTH_MODE="required", SORA_SECRET_KEY="k" * 40)
    base = next(servers)
    try:
        body = {"username": "casey", "password": "correct horse battery"}
        token = requests.post(f"{base}/api/auth/register", json=body, timeout=30).json()
        made = requests.post(
            f"{base}/api/auth/api-keys", json={"name": "cli"}, timeout=30,
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )  # fmt: skip
        key = made.json()["key"]
        assert key.startswith("sk-sora-")

        anonymous = run_client(base, "list", "--json", cwd=tmp_path)
        assert anonymous.returncode == 4 and "AUTH_REQUIRED" in anonymous.stderr
        with_key = run_client(base, "list", "--json", cwd=tmp_path,
                              env=client_env(base, SORA_API_KEY=key))  # fmt: skip
        assert with_key.returncode == 0, with_key.stderr
        assert json.loads(with_key.stdout)["total"] == 0
        with_token = run_client(base, "generate", "--topic", "x", "--duration", "99", cwd=tmp_path,
                                env=client_env(base, SORA_TOKEN=token["access_token"]))  # fmt: skip
        assert with_token.returncode == 2 and "(field: duration)" in with_token.stderr
        revoked = run_client(
            base, "list", cwd=tmp_path, env=client_env(base, SORA_API_KEY="sk-sora-nope")
        )
        assert revoked.returncode == 4 and revoked.stderr.count("\n") == 1
    finally:
        servers.close()
