"""Every way of stopping the real server hands its running job back at once, attempt unspent.

The production server (gunicorn + the project's config) runs as a subprocess in its own
process group; the job is caught while ffmpeg runs, because a signal to the whole group (a
terminal's Ctrl-C, systemd's stop) reaches ffmpeg too. Leases are 600 s, so only a real
hand-back, not an expired lease, can put the job back in the queue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs import store
from tests.conftest import (
    FAST_JOB,
    ROOT,
    app_config,
    free_port,
    server_env,
    stop_server,
    wait_for_job,
)
from tests.procs import child_pids, is_running

LONG_LEASE = {"SORA_JOB_LEASE_SECONDS": "600"}
LONGER_JOB = {**FAST_JOB, "duration": 0.4, "num_scenes": 3}
"""About 24 s of video: an encode long enough to interrupt."""


class Server:
    """One real server process group on a free port, plus a view of its database."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.app = create_app(app_config(tmp))
        self.proc: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        """gunicorn as conftest.start_server runs it, but logging to a file (shown on failure)."""
        gunicorn = Path(sys.executable).parent / "gunicorn"
        with (self.tmp / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [str(gunicorn), "-c", "python:sora_app.gunicorn_conf", "wsgi:app"],
                cwd=ROOT, env=server_env(self.tmp, self.port, **LONG_LEASE),
                stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        _wait(self._answers, "the server to answer", log=self.log_tail)
        return self.proc

    def _answers(self) -> bool:
        """A worker still booting on a busy box may accept and not answer within a second."""
        try:
            return requests.get(f"{self.base}/health", timeout=5).status_code in (200, 503)
        except requests.RequestException:
            return False

    def log_tail(self) -> str:
        return (self.tmp / "server.log").read_text(errors="replace")[-4000:]

    def job(self, job_id: str):
        with self.app.app_context():
            return store.get_job(job_id)

    def get(self, url: str) -> dict:
        return requests.get(self.base + url, timeout=5).json()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    yield server
    if server.proc is not None:
        stop_server(server.proc, sig=signal.SIGKILL)
    with server.app.app_context():
        db.session.remove()
        db.engine.dispose()


def _wait(condition: Callable[[], object], what: str, timeout: float = 90, log=None) -> object:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        tail = f"\nserver log:\n{log()}" if log else ""
        assert time.monotonic() < deadline, f"timed out waiting for {what}{tail}"
        time.sleep(0.02)
    return found


def _worker(master: subprocess.Popen) -> int:
    return _wait(lambda: child_pids(master.pid, b"gunicorn"), "a gunicorn worker")[0]


def _job_while_ffmpeg_runs(server: Server) -> tuple[str, int]:
    """Submit a job; return (its id, the worker pid) while ffmpeg runs with work left to do.

    Below 85 % the encode has seconds to go, so the job cannot finish before the signal is
    handled, even on a busy machine.
    """
    worker = _worker(server.proc)
    job_id = requests.post(f"{server.base}/api/generate-video", json=LONGER_JOB, timeout=5)
    job_id = job_id.json()["job_id"]

    def ffmpeg_mid_job() -> bool:
        return bool(child_pids(worker, b"ffmpeg")) and server.job(job_id).progress < 85

    _wait(ffmpeg_mid_job, "ffmpeg to run for the job", log=server.log_tail)
    return job_id, worker


def _assert_handed_back(server: Server, job_id: str) -> None:
    job = server.job(job_id)
    state = (job.status, job.error_code, job.error_message, job.attempts, job.lease_owner)
    assert job.status == "queued", f"{state}\nserver log:\n{server.log_tail()}"
    assert job.lease_owner is None and job.attempts == 0, "the attempt should not be spent"


def _owner_pid(owner: str | None) -> int | None:
    return int(owner.split(":")[1]) if owner else None


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda proc: os.killpg(proc.pid, signal.SIGINT), id="ctrl-c-to-the-group"),
        pytest.param(lambda proc: os.kill(proc.pid, signal.SIGINT), id="sigint-to-the-master"),
        pytest.param(lambda proc: os.killpg(proc.pid, signal.SIGTERM), id="sigterm-to-the-group"),
    ],
)
def test_stopping_the_server_hands_the_job_back(server, stop):
    master = server.start()
    job_id, _ = _job_while_ffmpeg_runs(server)
    stop(master)
    assert master.wait(timeout=60) is not None
    _assert_handed_back(server, job_id)


def test_after_ctrl_c_the_next_server_finishes_the_job_on_its_first_attempt(server):
    master = server.start()
    job_id, _ = _job_while_ffmpeg_runs(server)
    os.killpg(master.pid, signal.SIGINT)
    master.wait(timeout=60)
    _assert_handed_back(server, job_id)
    server.start()
    done = wait_for_job(server.get, job_id)
    assert done["status"] == "complete" and done["attempts"] == 1, done


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_stopped_worker_hands_the_job_to_its_replacement(server, sig):
    """The master replaces the worker; the replacement resumes the job on the same attempt."""
    server.start()
    job_id, worker = _job_while_ffmpeg_runs(server)
    os.kill(worker, sig)
    _wait(lambda: not is_running(worker), "the worker to exit")
    # Handed back: queued, or already claimed by the new worker (not the dead one's lease).
    _wait(lambda: _owner_pid(server.job(job_id).lease_owner) != worker, "the hand-back", 30)
    done = wait_for_job(server.get, job_id)
    assert done["status"] == "complete" and done["attempts"] == 1, done


def test_sigterm_hands_the_job_back_while_a_client_streams_its_events(server):
    """gunicorn drains open streams for as long as the master waits: hand back before that."""
    master = server.start()
    job_id, _ = _job_while_ffmpeg_runs(server)
    with requests.get(f"{server.base}/api/jobs/{job_id}/events", stream=True, timeout=60) as sse:
        assert sse.status_code == 200
        os.killpg(master.pid, signal.SIGTERM)
        _wait(lambda: server.job(job_id).status != "running", "the job to leave running")
        _assert_handed_back(server, job_id)


SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)
"""Stand-ins for SIGINT and SIGQUIT, which pytest itself handles."""


def test_a_stop_signal_during_the_stop_handler_does_not_deadlock_it():
    """The pair's second signal arrives while the first handler holds a non-reentrant lock.

    Real signals, as the master's SIGQUIT arrives inside Ctrl-C's SIGINT handler: unguarded,
    the nested handler waits on the lock its own thread holds (here for 2 s, then records
    the failure; in the worker it waited for the master's SIGKILL). Two different signals,
    because each has its own handler and only a guard they share keeps them apart.
    """
    from sora_app.gunicorn_conf import _OneStopAtATime

    lock = threading.Lock()
    entered: list[bool] = []

    def handler(sig: int, frame: object) -> None:
        got = lock.acquire(timeout=2)
        entered.append(got)
        try:
            if len(entered) == 1:
                signal.raise_signal(signal.SIGUSR2)  # handled at the next bytecode, lock held
                sum(range(1000))
        finally:
            if got:
                lock.release()

    guard = _OneStopAtATime()
    previous = {sig: signal.signal(sig, guard.wrap(handler)) for sig in SIGNALS}
    try:
        signal.raise_signal(signal.SIGUSR1)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    assert entered == [True], "a nested stop handler waited on its own thread's lock"
