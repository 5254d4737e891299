"""The embedded executor: a bounded pool of daemon threads in each server process.

Workers claim jobs from the database (so several gunicorn processes share one queue with
no job run twice), are woken at once on submit and otherwise scan every few seconds, which
also picks up jobs submitted by another process or left queued by a previous run. A reaper
re-queues jobs whose lease expired because their process died.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

from flask import Flask

from . import store
from .cleanup import remove_job_files, sweep_orphans
from .runner import run_job

log = logging.getLogger(__name__)

EXTENSION_KEY = "sora_executor"


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

    def wake(self) -> None:
        """Called on submit so an idle worker starts the job without waiting for a scan."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Clean exit (gunicorn worker_exit): stop our jobs, then re-queue them at once.

        The jobs are asked to stop first (ffmpeg killed, partials removed) and given
        `timeout` seconds, so no other process resumes a job while this one still works on it.
        """
        self._stopping_jobs.set()
        self.stop(timeout)
        with self.app.app_context():
            store.release_leases(self.owner_prefix)

    def _sweep(self) -> None:
        """Partial outputs of jobs no process is running (a killed server left them)."""
        try:
            with self.app.app_context():
                sweep_orphans(Path(self.app.config["VIDEOS_DIR"]), store.running_job_ids())
        except Exception:
            log.exception("sweep of orphaned partial outputs failed")

    @property
    def alive_workers(self) -> int:
        return sum(1 for t in self._threads if t.is_alive() and t.name.startswith("job-worker"))

    @property
    def busy_workers(self) -> int:
        return self._busy

    def _work_loop(self, owner: str) -> None:
        while not self._stop.is_set():
            job_id = self._claim(owner)
            if job_id is None:
                self._wake.wait(self.scan_seconds)
                self._wake.clear()
                continue
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
        except Exception:
            log.exception("could not record the failure job=%s", job_id)

    def _claim(self, owner: str) -> str | None:
        try:
            with self.app.app_context():
                return store.claim_next(owner, self.lease_seconds)
        except Exception:
            log.exception("claim failed owner=%s", owner)
            return None

    def _reap_loop(self, owner: str) -> None:
        interval = max(min(self.lease_seconds / 3, self.scan_seconds), 0.05)
        while not self._stop.wait(interval):
            try:
                with self.app.app_context():
                    requeued, failed = store.recover_expired(self.max_attempts)
                for job_id in failed:
                    remove_job_files(
                        Path(self.app.config["VIDEOS_DIR"]),
                        Path(self.app.config["WORK_DIR"]),
                        job_id,
                    )
                if requeued:
                    self.wake()
            except Exception:
                log.exception("reaper failed owner=%s", owner)


def start_executor(app: Flask) -> ThreadExecutor:
    """Start this process's workers once; the server entry point calls this, the CLI doesn't."""
    existing = app.extensions.get(EXTENSION_KEY)
    if existing is not None:
        return existing
    executor = ThreadExecutor(app)
    app.extensions[EXTENSION_KEY] = executor
    executor.start()
    return executor


def get_executor(app: Flask) -> ThreadExecutor | None:
    return app.extensions.get(EXTENSION_KEY)
