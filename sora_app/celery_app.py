"""The Celery worker entry point: `celery -A sora_app.celery_app worker` (and `beat`).

Settings come from the same environment as the API (config.py). Each worker process builds
the Flask app once, on its first task, after the prefork pool has forked, so no database
connection is ever shared between processes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from celery import Task
from flask import Flask

from .config import load_settings
from .jobs import maintenance
from .jobs.celery_executor import MAINTENANCE_TASK, RUN_TASK, execute, make_celery
from .jobs.executors import Executor, create_executor

log = logging.getLogger(__name__)

celery = make_celery(load_settings().as_flask_config())

_apps: dict[int, tuple[Flask, Executor]] = {}
_lock = threading.Lock()


def flask_app() -> tuple[Flask, Executor]:
    """This process's Flask app and an executor to re-submit with, created on first use."""
    with _lock:
        pid = os.getpid()
        if pid not in _apps:
            from . import create_app

            app = create_app()
            _apps[pid] = (app, create_executor(app))
        return _apps[pid]


@celery.task(name=RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job_task(self: Task, job_id: str) -> str:
    """One job, by id; the owner names host, pid and Celery node so operators see who ran it."""
    app, executor = flask_app()
    owner = f"{socket.gethostname()}:{os.getpid()}:{self.request.hostname}"
    return execute(app, job_id, owner, executor)


@celery.task(name=MAINTENANCE_TASK, acks_late=False)
def maintenance_task(prune: bool = False) -> dict[str, int]:
    """Beat's periodic run: re-queue and re-submit lost jobs; hourly, prune old ones too."""
    app, executor = flask_app()
    report = maintenance.run(app, executor, with_prune=prune)
    counts = {name: len(ids) for name, ids in vars(report).items()}
    if any(counts.values()):
        log.info("event=maintenance %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
