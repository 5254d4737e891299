"""The embedded executor: a bounded pool of daemon threads in each server process.

Workers claim jobs from the database (so several gunicorn processes share one queue with
no job run twice), are woken at once on submit and otherwise scan every few seconds, which
also picks up jobs submitted by another process or left queued by a previous run. A reaper
thread runs the periodic maintenance (jobs/maintenance.py): it re-queues jobs whose lease
expired because their process died, and prunes old finished jobs when retention is on.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from flask import Flask

from ..space import database_problem
from ..storage import storage_for
from . import maintenance, store
from .backoff import Backoff
from .cleanup import sweep_orphans
from .runner import run_job

log = logging.getLogger(__name__)

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP}
"""Blocked in job threads and so in the ffmpeg they start (children inherit the mask)."""


class ThreadExecutor:
    """Runs jobs in `JOB_WORKERS` threads of this process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.workers = int(app.config["JOB_WORKERS"])
        self.scan_seconds = float(app.config["JOB_SCAN_SECONDS"])
        self.lease_seconds = float(app.config["JOB_LEASE_SECONDS"])
        self.max_attempts = int(app.config["JOB_MAX_ATTEMPTS"])
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._stopping_jobs = threading.Event()
        """Tells running jobs to stop so shutdown can hand them back."""
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._lock = threading.Lock()
        self.backoffs: dict[str, Backoff] = {}
        """Each loop's run of failures by thread name (for operators and tests)."""
        self._last_prune = float("-inf")

    @property
    def owner_prefix(self) -> str:
        """Every lease this process takes starts with this (host:pid:)."""
        return f"{socket.gethostname()}:{os.getpid()}:"

    def start(self) -> None:
        self._sweep()
        base = self.owner_prefix.rstrip(":")
        for index in range(self.workers):
            owner = f"{base}:w{index}"
            self._spawn(self._work_loop, owner, f"job-worker-{index}")
        self._spawn(self._reap_loop, base, "job-reaper")
        log.info("executor started workers=%s pid=%s", self.workers, os.getpid())

    def _spawn(self, target, owner: str, name: str) -> None:
        thread = threading.Thread(target=target, args=(owner,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def submit(self, job_id: str) -> None:
        """The job row is already queued; wake an idle worker so it starts without a scan.

        Any worker may claim it (the claim is a conditional UPDATE), so the id itself is
        not needed here; other executors send it to their queue.
        """
        self.wake()

    def wake(self) -> None:
        """Called on submit so an idle worker starts the job without waiting for a scan."""
        self._wake.set()

    def begin_shutdown(self) -> None:
        """Tell running jobs to stop and idle workers to leave; returns at once.

        Only sets events, so a signal handler may call it. A job stopped this way is left
        `running` under our lease for shutdown() to hand back, not marked failed or cancelled.
        """
        self._stopping_jobs.set()
        self.stop_loops()

    def stop_loops(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the loops and wait for them, `timeout` seconds in all; True if all ended."""
        self.stop_loops()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Clean exit (any gunicorn shutdown path): stop our jobs, then re-queue them at once.

        The jobs are asked to stop first (ffmpeg killed, partials removed) and given
        `timeout` seconds, so no other process resumes a job while this one still works on it.
        A job still running by then is handed back too (this process is exiting), but its
        attempt stays spent, so its successor's temp files carry another attempt number.
        Calling it again is harmless (nothing left to release).
        """
        self.begin_shutdown()
        stopped = self.stop(timeout)
        with self.app.app_context():
            store.release_leases(self.owner_prefix, refund_attempt=stopped)

    def shutdown_soon(self, timeout: float = 10.0) -> None:
        """shutdown() in a thread of its own: for a signal handler that must return at once.

        Non-daemon, so the process waits for it before exiting.
        """
        self.begin_shutdown()
        threading.Thread(target=self._shutdown_quietly, args=(timeout,), name="hand-back").start()

    def _shutdown_quietly(self, timeout: float) -> None:
        try:
            self.shutdown(timeout)
        except Exception:
            log.exception("could not hand the running jobs back; their leases will expire")

    def _sweep(self) -> None:
        """Partial outputs of jobs no process is running (a killed server left them)."""
        try:
            with self.app.app_context():
                sweep_orphans(storage_for(self.app.config).videos_dir, store.running_job_ids())
        except Exception:
            log.exception("sweep of orphaned partial outputs failed")

    @property
    def alive_workers(self) -> int:
        return sum(1 for t in self._threads if t.is_alive() and t.name.startswith("job-worker"))

    @property
    def busy_workers(self) -> int:
        return self._busy

    def health(self) -> dict[str, Any]:
        alive = self.alive_workers
        return {"ok": alive > 0, "alive": alive, "busy": self.busy_workers}

    def _work_loop(self, owner: str) -> None:
        """Claim and run jobs; while the database fails, wait longer each time (or a wake)."""
        _deaf_to_stop_signals()
        backoff = self.backoffs[threading.current_thread().name] = Backoff(
            f"claim owner={owner}", self.scan_seconds
        )
        while not self._stop.is_set():
            try:
                with self.app.app_context():
                    job_id = store.claim_next(owner, self.lease_seconds)
            except Exception as exc:
                self._idle(backoff.failed(exc))
                continue
            backoff.succeeded()
            if job_id is None:
                self._idle(self.scan_seconds)
            else:
                self._run(job_id, owner)

    def _idle(self, seconds: float) -> None:
        """Wait for a submit's wake-up, a shutdown, or `seconds`."""
        self._wake.wait(seconds)
        self._wake.clear()

    def _run(self, job_id: str, owner: str) -> None:
        with self._lock:
            self._busy += 1
        try:
            run_job(self.app, job_id, owner, stopping=self._stopping_jobs)
        except Exception:
            log.exception("runner crashed job=%s", job_id)
            self._fail(job_id, owner)
        finally:
            with self._lock:
                self._busy -= 1

    def _fail(self, job_id: str, owner: str) -> None:
        try:
            with self.app.app_context():
                store.fail(job_id, owner, "INTERNAL_ERROR", "The job runner failed unexpectedly.")
        except Exception as exc:
            if database_problem(exc) is None:
                log.exception("could not record the failure job=%s", job_id)
            else:  # the lease runs out and the reaper re-queues it once the database is back
                log.warning("could not record the failure job=%s error=%s", job_id, exc)

    def _reap_loop(self, owner: str) -> None:
        interval = max(min(self.lease_seconds / 3, self.scan_seconds), 0.05)
        backoff = self.backoffs["job-reaper"] = Backoff(f"reap owner={owner}", interval)
        wait = interval
        while not self._stop.wait(wait):
            try:
                self._reap()
            except Exception as exc:
                wait = backoff.failed(exc)
                continue
            backoff.succeeded()
            wait = interval

    def _reap(self) -> None:
        """The periodic maintenance, embedded: re-queue (and wake for) jobs whose process died;
        prune old finished jobs once in a while."""
        now = time.monotonic()
        with_prune = now - self._last_prune >= maintenance.PRUNE_EVERY_SECONDS
        maintenance.run(self.app, self, with_prune=with_prune)
        if with_prune:
            self._last_prune = now


def _deaf_to_stop_signals() -> None:
    """A terminal's Ctrl-C or systemd's SIGTERM reach the whole process group, ffmpeg too.

    An ffmpeg killed by them before the shutdown flag is up looks like a failed job. With
    the signals blocked in this thread (Python handles them in the main thread anyway), the
    ffmpeg it starts ignores them, and the shutdown stops it as it stops the job.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
