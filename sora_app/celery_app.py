"""The Celery worker entry point: `celery -A sora_app.celery_app worker` (and `beat`).

Settings come from the same environment as the API (config.py). Each worker process builds
the Flask app once, on its first task, after the prefork pool has forked, so no database
connection is ever shared between processes.

Stopping a worker hands its jobs back instead of finishing them: a render can take minutes,
longer than `docker stop` or systemd wait. SIGTERM to the worker (warm shutdown) is passed
on to its pool processes; a pool process stops its job at the next checkpoint (ffmpeg
killed, partial output removed), re-queues it with the attempt refunded, publishes it again
and exits, so another worker resumes it from its last finished stage within moments. A
worker killed without a word (SIGKILL, power loss) leaves its jobs `running`; when it starts
again under the same node name (`-n`, unique per worker as Celery requires) it re-queues
them before taking any task, instead of waiting for their leases to run out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from typing import Any

from billiard.process import active_children
from celery import Task, signals
from flask import Flask

from .config import load_settings
from .extensions import db
from .jobs import maintenance, store
from .jobs.celery_executor import (
    MAINTENANCE_TASK,
    RUN_TASK,
    CeleryExecutor,
    execute,
    make_celery,
)
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


_stopping = threading.Event()
"""Set in a pool process by SIGTERM: its running job stops and is handed back."""

_busy = threading.Event()
"""Set in a pool process while a job task runs in it."""

HANDED_BACK = "Re-queued: its worker stopped; resuming"


def owner_prefix(node: str, pid: int | None = None) -> str:
    """Leases of a Celery node (all its pool processes), or of one pool process when `pid`.

    The owner names node and pid so operators see who ran a job; the trailing part keeps
    pid 12 from matching pid 123 of the same node.
    """
    return f"{node}:" if pid is None else f"{node}:{pid}:"


@celery.task(name=RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job_task(self: Task, job_id: str) -> str:
    """One job, by id; on SIGTERM it is handed back before this pool process exits."""
    _hand_back_on_sigterm()
    app, executor = flask_app()
    prefix = owner_prefix(self.request.hostname, os.getpid())
    _busy.set()
    try:
        outcome = execute(app, job_id, f"{prefix}task", executor, stopping=_stopping)
        if _stopping.is_set():
            with app.app_context():
                for released in store.release_leases(prefix, substatus=HANDED_BACK):
                    executor.submit(released)  # to a worker that is not stopping, now
                    outcome = "handed-back"
    finally:
        _busy.clear()
    if _stopping.is_set():
        _exit_as_asked()
    return outcome


_pool_sigterm: Any = None
"""The pool's own SIGTERM handler (billiard's clean exit), called once a job is handed back."""


def _hand_back_on_sigterm() -> None:
    """In a pool process: SIGTERM stops the running job at its next checkpoint.

    Installed by the task itself, because billiard resets the signal handlers after
    Celery's process-init hooks run.
    """
    global _pool_sigterm
    current = signal.getsignal(signal.SIGTERM)
    if current is not _on_sigterm:
        _pool_sigterm = current
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: Any) -> None:
    _stopping.set()  # only an event: the job's own code does the rest
    if not _busy.is_set():
        _exit_as_asked(frame)


def _exit_as_asked(frame: Any = None) -> None:
    """Leave as SIGTERM asks, through the pool's own handler (it exits cleanly)."""
    handler = _pool_sigterm
    if callable(handler):
        signal.signal(signal.SIGTERM, handler)
        handler(signal.SIGTERM, frame)
    else:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


@signals.worker_shutting_down.connect
def _stop_pool_jobs(sig: str = "", how: str = "", **_: Any) -> None:
    """Warm or cold shutdown of the worker: tell each pool process to hand its job back.

    Celery's warm shutdown would wait for the running renders to finish; a pool process that
    already got the signal itself (systemd signals the whole group) just sees it twice.
    """
    for child in active_children():
        if child.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)


@signals.worker_init.connect
def _requeue_jobs_of_a_previous_run(sender: Any = None, **_: Any) -> None:
    """Before this node takes any task: re-queue what a killed earlier run of it left running.

    Runs in the main process before the pool forks, on an app of its own whose connections
    are closed again, so no pool process inherits one.
    """
    node = getattr(sender, "hostname", None)
    if not node:
        return
    from . import create_app

    app = create_app()
    executor = CeleryExecutor(app, celery)  # the worker's own broker connection
    try:
        with app.app_context():
            released = store.release_leases(
                owner_prefix(node),
                refund_attempt=False,
                substatus="Re-queued: its worker was restarted; resuming",
            )
        if released:
            log.warning("event=orphans_requeued node=%s jobs=%s", node, " ".join(released))
        for job_id in released:
            executor.submit(job_id)
    finally:
        executor.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@celery.task(name=MAINTENANCE_TASK, acks_late=False)
def maintenance_task(prune: bool = False) -> dict[str, int]:
    """Beat's periodic run: re-queue and re-submit lost jobs; hourly, prune old ones too."""
    app, executor = flask_app()
    report = maintenance.run(app, executor, with_prune=prune)
    counts = {name: len(ids) for name, ids in vars(report).items()}
    if any(counts.values()):
        log.info("event=maintenance %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
