"""`python -m sora_app.client` against a real gunicorn server, run as a user runs it."""

from __future__ import annotations

import json
import os
import pty
import re
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


def run_in_terminal(base: str, *args: str, cwd: Path, columns: int) -> str:
    """What the client shows on a terminal `columns` wide (a pty, as a user's shell gives
    it), without colours and with plain line ends."""
    parent, child = pty.openpty()
    env = client_env(base, COLUMNS=str(columns), NO_COLOR="1")
    with subprocess.Popen(
        [sys.executable, "-m", "sora_app.client", *args],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=child, stderr=child,
    ) as proc:  # fmt: skip
        os.close(child)
        shown = b""
        while True:
            try:
                chunk = os.read(parent, 65536)
            except OSError:  # EIO: the client has exited and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert proc.wait() == 0, shown
    os.close(parent)
    return re.sub(r"\x1b\[[0-9;]*m", "", shown.decode()).replace("\r\n", "\n")


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
    video = next(v for v in json.loads(listed.stdout)["videos"] if v["id"] == job_id)
    _check_list_output(server, tmp_path, video)

    fetched = run_client(server, "download", job_id, cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / fetched.stdout.strip()).read_bytes() == out.read_bytes()
    url = run_client(server, "open", job_id, cwd=tmp_path).stdout.strip()  # no display: a URL
    assert url.startswith(server) and "token=" not in url  # open mode: the plain URL plays
    assert requests.get(url, timeout=30).content == out.read_bytes()


def _check_list_output(server: str, tmp_path: Path, video: dict) -> None:
    """`list` into a pipe: tab-separated fields, nothing wrapped; on an 80-column terminal:
    a table whose id and status are whole. --server after the command is the one used."""
    nowhere = client_env(f"http://127.0.0.1:{free_port()}")  # SORA_SERVER_URL: no server
    piped = run_client(server, "list", "--server", server, cwd=tmp_path, env=nowhere)
    assert piped.returncode == 0, piped.stderr
    rows = [line.split("\t") for line in piped.stdout.splitlines()]
    assert rows and all(len(row) == 6 for row in rows), piped.stdout
    expected = [video["id"], "completed", "100", f"{video['duration']:.1f}",
                video["created_at"], video["title"]]  # fmt: skip
    assert expected in rows, piped.stdout
    assert re.fullmatch(r"page 1 of 1, \d+ videos?\n", piped.stderr), piped.stderr
    before = run_client(server, "--server", server, "list", "--json", cwd=tmp_path, env=nowhere)
    assert before.returncode == 0 and json.loads(before.stdout)["total"] == len(rows)

    table = run_in_terminal(server, "list", cwd=tmp_path, columns=80)
    assert re.search(rf"^{video['id']}\s+completed\s+\d+\.\d s\s+\S", table, re.M), table
    assert max(len(line) for line in table.splitlines()) <= 80, table


LONG_OPTIONS = [*FAST_OPTIONS[:6], "--duration", "1", *FAST_OPTIONS[8:]]
"""A minute of narration: still running when the next client process starts, on a busy box."""


def test_cancel_stops_a_running_job(server, tmp_path):
    started = run_client(server, "generate", *LONG_OPTIONS, "--json", cwd=tmp_path)
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
        # Ctrl-C as in a shell: a process started with SIGINT ignored (as a test runner's
        # worker may be) keeps it ignored, and Python then never raises KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
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


@pytest.fixture(scope="module")
def required_server(tmp_path_factory) -> Iterator[str]:
    yield from serve(
        tmp_path_factory.mktemp("required"), SORA_AUTH_MODE="required", SORA_SECRET_KEY="k" * 40
    )


def test_open_prints_a_url_a_player_can_play_in_required_mode(required_server, tmp_path):
    base = required_server
    body = {"username": "robin", "password": "correct horse battery"}
    access = requests.post(f"{base}/api/auth/register", json=body, timeout=30).json()
    key = requests.post(
        f"{base}/api/auth/api-keys", json={"name": "cli"}, timeout=30,
        headers={"Authorization": f"Bearer {access['access_token']}"},
    ).json()["key"]  # fmt: skip
    with_key = client_env(base, SORA_API_KEY=key)
    out = tmp_path / "story.mp4"
    one_scene = [*FAST_OPTIONS[:9], "1", *FAST_OPTIONS[10:]]
    assert FAST_OPTIONS[8] == "--scenes"
    made = run_client(base, "generate", *one_scene, "--wait", "--output", str(out), "--json",
                      cwd=tmp_path, env=with_key)  # fmt: skip
    assert made.returncode == 0, made.stderr
    job_id = json.loads(made.stdout)["job_id"]
    assert "Script: 1 scene," in json.loads(made.stdout)["details"]  # one, not "1 scenes"
    assert not re.search(r"\b1 (of 1 )?(scene|segment)s\b", made.stderr), made.stderr
    listed = run_client(base, "list", cwd=tmp_path, env=with_key)
    assert listed.stderr == "page 1 of 1, 1 video\n"

    plain = f"{base}{json.loads(made.stdout)['video_url']}"
    assert requests.get(plain, timeout=30).status_code == 401  # what a browser gets
    for env in (with_key, client_env(base, SORA_TOKEN=access["access_token"])):
        opened = run_client(base, "open", job_id, cwd=tmp_path, env=env)  # no display: a URL
        assert opened.returncode == 0 and opened.stderr == "", opened.stderr
        url = opened.stdout.strip()
        assert url.startswith(f"{plain}?token=")
        assert requests.get(url, timeout=30).content == out.read_bytes()
