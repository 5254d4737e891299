"""The distributed executor: a Celery task per job, carrying the job id and nothing else.

The broker only says "look at job X"; the row decides. A task claims the job with the same
conditional UPDATE the thread executor uses, so a redelivered or duplicated message is a
no-op while the first run's lease lives, and a resume once it died: the runner goes on from
the job's last finished stage, whose outputs sit under the shared work root (storage.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from celery import Celery
from flask import Flask

from ..models import JobStatus
from . import maintenance, store
from .executors import Executor
from .runner import run_job

log = logging.getLogger(__name__)

RUN_TASK = "sora.run_job"
MAINTENANCE_TASK = "sora.maintenance"

PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
"""A submit waits at most about a second for the broker; the job row is already safe."""


def make_celery(config: Mapping[str, Any]) -> Celery:
    """A Celery app configured from the Flask settings (the API and the workers share it)."""
    interval = float(config["JOB_MAINTENANCE_SECONDS"])
    celery = Celery("sora_app", broker=config["CELERY_BROKER_URL"], set_as_current=False)
    celery.conf.update(
        task_default_queue=config["CELERY_QUEUE"],
        task_acks_late=True,  # a worker that dies mid-job leaves its message to be redelivered
        task_reject_on_worker_lost=True,
        task_ignore_result=True,  # the job row is the result
        worker_prefetch_multiplier=1,  # a busy worker holds no other job's message
        worker_concurrency=int(config["JOB_WORKERS"]),
        broker_transport_options={
            "visibility_timeout": float(config["CELERY_VISIBILITY_TIMEOUT"]),
            "socket_connect_timeout": 2,
        },
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "reap": {
                "task": MAINTENANCE_TASK,
                "schedule": interval,
                "options": {"expires": interval},  # behind busy workers, don't pile up
            },
            "prune": {
                "task": MAINTENANCE_TASK,
                "schedule": maintenance.PRUNE_EVERY_SECONDS,
                "kwargs": {"prune": True},
                "options": {"expires": maintenance.PRUNE_EVERY_SECONDS},
            },
        },
        beat_schedule_filename=str(config["INSTANCE_DIR"]) + "/celerybeat-schedule",
    )
    return celery


class CeleryExecutor:
    """The API side: submit publishes a task; the worker hosts (celery_app.py) run it."""

    def __init__(self, app: Flask, celery: Celery | None = None) -> None:
        """`celery`: publish through this (running) Celery app instead of one of our own."""
        self.app = app
        self._owns_celery = celery is None
        self.celery = make_celery(app.config) if celery is None else celery
        self.queue = str(app.config["CELERY_QUEUE"])

    def start(self) -> None:
        log.info("event=executor_started executor=celery queue=%s", self.queue)

    def submit(self, job_id: str) -> None:
        try:
            self.celery.send_task(
                RUN_TASK, args=[job_id], queue=self.queue, retry=True, retry_policy=PUBLISH_RETRY
            )
        except Exception as exc:  # the row is committed; maintenance re-submits it later
            log.warning("event=submit_failed job=%s error=%s", job_id, exc)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Nothing runs here: jobs live on the worker hosts. Drops our broker connections
        (kombu shares its pools per broker, so a borrowed Celery app's are left alone)."""
        if self._owns_celery:
            self.celery.pool.force_close_all()

    def shutdown_soon(self, timeout: float = 10.0) -> None:
        """Nothing to stop in this process (see shutdown)."""

    def health(self) -> dict[str, Any]:
        """Whether jobs can be handed over: the broker answers. Workers are the hosts' concern."""
        try:
            with self.celery.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:
            return {"ok": False, "executor": "celery", "message": f"broker unreachable: {exc}"}
        return {"ok": True, "executor": "celery", "queue": self.queue}


def execute(
    app: Flask,
    job_id: str,
    owner: str,
    executor: Executor | None,
    stopping: threading.Event | None = None,
) -> str:
    """The task body: claim the job, run it; what happened, for the worker's log and tests.

    "ran": claimed and run. "finished": nothing left to do. "busy": another worker holds a
    live lease (a duplicate delivery). "missing": the row is gone (deleted).
    A running job whose lease expired lost its worker: re-queue it now and run it here.
    `stopping` set: the job stops at its next checkpoint and stays `running` under `owner`
    for the caller to hand back.
    """
    lease = float(app.config["JOB_LEASE_SECONDS"])
    with app.app_context():
        if not store.claim(job_id, owner, lease):
            outcome = _unclaimable(app, job_id, executor)
            if outcome != "requeued" or not store.claim(job_id, owner, lease):
                log.info("event=task_skipped job=%s outcome=%s", job_id, outcome)
                return "busy" if outcome == "requeued" else outcome
    try:
        run_job(app, job_id, owner, stopping)
    except Exception:
        log.exception("runner crashed job=%s", job_id)
        with app.app_context():
            store.fail(job_id, owner, "INTERNAL_ERROR", "The job runner failed unexpectedly.")
    return "ran"


def _unclaimable(app: Flask, job_id: str, executor: Executor | None) -> str:
    job = store.get_job(job_id)
    if job is None:
        return "missing"
    if job.status != JobStatus.RUNNING.value:
        return "busy" if job.status == JobStatus.QUEUED.value else "finished"
    if job.lease_expires_at is not None and job.lease_expires_at < time.time():
        maintenance.reap(app, executor)  # the first run died: hand it (and any other) back
        return "requeued"
    return "busy"
