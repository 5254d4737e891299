"""gunicorn settings for `make run` and production (`-c python:sora_app.gunicorn_conf`).

gthread workers: slow clients streaming a video hold a thread, not a whole process. Each
worker process also runs its own job executor threads (started by wsgi.py after the fork),
and they share one job queue through the database.

One worker process by default (SORA_WEB_WORKERS=1, SORA_WEB_THREADS=32): a Socket.IO
long-polling session lives in the memory of the process that made it, and gunicorn hands each
new connection to whichever worker accepts first, so with several workers a client's polls
land on processes that never heard of it. Jobs are subprocess-heavy (ffmpeg), so one process
with more threads loses little. More processes: see README "Socket.IO" (sticky routing).

Every way a worker is told to stop hands its running jobs back to the queue at once, without
spending an attempt: SIGTERM (graceful: worker_exit), SIGINT/SIGQUIT (quick: worker_int;
Ctrl-C sends SIGINT to the master *and* the workers, and the master adds a SIGQUIT).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

from sora_app.config import ConfigError, folder_problem, load_server_settings, load_settings
from sora_app.gunicorn_errors import install as install_json_errors


def _fail(message: str) -> None:
    """One clear sentence and exit code 1 (systemd shows it), not gunicorn's traceback."""
    print(f"Configuration error: {message}.", file=sys.stderr)
    sys.exit(1)


try:
    _server = load_server_settings()
except ConfigError as exc:
    _fail(str(exc))
install_json_errors()  # gunicorn's own 400/414/431 answers in our JSON shape, not HTML

bind = f"{_server.host}:{_server.port}"
workers = _server.workers
threads = _server.threads
worker_class = "gthread"
timeout = _server.timeout
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
# gunicorn's control socket (gunicornc) defaults to ~/.gunicorn, which a system user's home
# does not allow (an ERROR at every start under systemd); nothing here uses it.
control_socket_disable = True
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'


QUICK_HAND_BACK_SECONDS = 1.5
"""A quick stop (SIGINT/SIGQUIT) may get only 2 s before the master's SIGKILL."""
GRACEFUL_HAND_BACK_SECONDS = 10.0
"""Well inside graceful_timeout, so the jobs are handed back before any SIGKILL."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)


def when_ready(server: Any) -> None:
    """Say at start when Socket.IO's default transports cannot work reliably here."""
    if workers > 1:
        server.log.warning(
            "SORA_WEB_WORKERS=%d: Socket.IO long-polling needs every request of a session on "
            "one process; put a sticky proxy in front (README 'Socket.IO') or use 1 worker",
            workers,
        )


def _executor() -> Any:
    """This worker's job executor, or None (not booted yet, or in the master)."""
    from sora_app.jobs.executors import get_executor

    wsgi = sys.modules.get("wsgi")  # absent if the worker died while booting
    return get_executor(wsgi.app) if wsgi is not None else None


def _ignore(sig: int, frame: Any) -> None:
    """Swallow further stop signals while the jobs are handed back.

    Not SIG_IGN: a signal already pending then makes Python raise OSError("Signal 3 ignored
    due to race condition") wherever the main thread is, possibly inside the hand-back.
    """


def _hand_back_jobs(worker: Any, timeout: float) -> None:
    """Stop this worker's jobs and re-queue them, deaf to further stop signals meanwhile.

    Without that, Ctrl-C's second signal (the master's SIGQUIT) raised SystemExit inside the
    hand-back and the job stayed `running` until its lease ran out, an attempt spent.
    """
    if os.getpid() != worker.pid:
        return  # gunicorn also calls worker_exit in the master for a worker already gone
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:  # the master's SIGKILL stays the backstop
            signal.signal(sig, _ignore)
    executor = _executor()
    if executor is None:
        return
    try:
        executor.shutdown(timeout)
    except Exception:
        worker.log.exception("could not hand the running jobs back; their leases will expire")


def post_worker_init(worker: Any) -> None:
    """On SIGTERM, hand the jobs back now, while gunicorn drains requests.

    worker_exit alone comes too late when a client holds a stream open: gunicorn's drain and
    the master's SIGKILL share one graceful_timeout, so the worker may never get there.
    """
    graceful_exit = signal.getsignal(signal.SIGTERM)

    def on_sigterm(sig: int, frame: Any) -> None:
        executor = _executor()
        if executor is not None:
            executor.shutdown_soon(GRACEFUL_HAND_BACK_SECONDS)
        if callable(graceful_exit):
            graceful_exit(sig, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
    one_at_a_time = _OneStopAtATime()
    for sig in STOP_SIGNALS:
        signal.signal(sig, one_at_a_time.wrap(signal.getsignal(sig)))
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn had it: don't break requests


class _OneStopAtATime:
    """Wraps the worker's stop handlers so that none runs inside another.

    A stop comes in pairs (Ctrl-C reaches the worker and the master, which adds a SIGQUIT;
    systemd's SIGTERM to the group is followed by the master's). Python runs the second
    handler inside the first, and both hold non-reentrant locks: gthread's handle_quit shuts
    the thread pool down under its lock, and Event.set() takes the event's. The nested call
    then waited forever on a lock its own thread held: the job was never handed back and the
    worker stayed until the master's SIGKILL. One flag for all stop signals (SIGINT's handler
    was interrupted by SIGQUIT's); a stop signal arriving meanwhile is dropped, as the one
    running already stops the worker.
    """

    def __init__(self) -> None:
        self.running = False

    def wrap(self, handler: Any) -> Any:
        if not callable(handler):
            return handler

        def guarded(sig: int, frame: Any) -> None:
            if self.running:
                return
            self.running = True
            try:
                handler(sig, frame)
            finally:
                self.running = False

        return guarded


def worker_int(worker: Any) -> None:
    """SIGINT or SIGQUIT (Ctrl-C, or the master's quick shutdown): hand the jobs back now."""
    _hand_back_jobs(worker, QUICK_HAND_BACK_SECONDS)


def worker_exit(server: Any, worker: Any) -> None:
    """A worker leaving (graceful, or after worker_int) hands its running jobs back at once."""
    _hand_back_jobs(worker, GRACEFUL_HAND_BACK_SECONDS)


def on_starting(server: Any) -> None:
    """Each worker's metric values go to files in one folder, and /metrics in any worker sums
    them all (sora_app.observe.metrics): set for the master, whose forks (the workers) import
    prometheus-client after this. Here, not at import, so importing this module (a test does)
    changes no environment. A fresh folder per start: the last run's workers are gone."""
    try:
        problem = folder_problem(load_settings(), _server)
    except ConfigError as exc:
        problem = str(exc)
    if problem:
        _fail(problem)
    folder = _server.metrics_dir
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges (open streams) must stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
