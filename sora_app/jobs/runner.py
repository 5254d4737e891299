"""Runs one claimed job through its stages, resuming after the last finished one.

Threads get the app and ids, never ORM objects; every DB write goes through `store`, and
no DB transaction is open while media work runs.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from pydantic import ValidationError

from ..models import STAGES
from ..pipeline.types import Cancelled, StageError
from . import store
from .progress import STAGE_RANGES, ProgressReporter
from .spec import JobSpec, user_uploads_dir
from .stages import STAGE_FUNCTIONS, StageContext

log = logging.getLogger(__name__)


@dataclass
class _Flags:
    """Set by the heartbeat thread, read by stages through should_cancel()."""

    lost: threading.Event
    cancel: threading.Event
    done: threading.Event

    def should_stop(self) -> bool:
        return self.lost.is_set() or self.cancel.is_set()


def run_job(app: Flask, job_id: str, owner: str) -> None:
    """Entry point for an executor thread (or a Celery task) holding the job's lease."""
    with app.app_context():
        flags = _Flags(threading.Event(), threading.Event(), threading.Event())
        beat = threading.Thread(
            target=_heartbeat, args=(app, job_id, owner, flags), daemon=True, name="heartbeat"
        )
        beat.start()
        _running[job_id] = flags
        try:
            _run_stages(app, job_id, owner, flags)
        finally:
            _running.pop(job_id, None)
            flags.done.set()
            beat.join(timeout=5)


CANCEL_POLL_SECONDS = 0.5
"""How often a running job looks for a cancel request made in another process."""

_running: dict[str, _Flags] = {}
"""Jobs running in this process, so a cancel request made here is noticed at once."""


def notify_cancel(job_id: str) -> bool:
    """Fast path for a cancel made in the process that runs the job; False if it isn't here."""
    flags = _running.get(job_id)
    if flags is None:
        return False
    flags.cancel.set()
    return True


def _run_stages(app: Flask, job_id: str, owner: str, flags: _Flags) -> None:
    job = store.get_job(job_id)
    if job is None:
        return
    try:
        spec = JobSpec.model_validate(job.request)
    except ValidationError as exc:  # e.g. a voice removed from the catalogue since submission
        reason = exc.errors(include_url=False)[0]["msg"]
        store.fail(
            job_id, owner, "INVALID_REQUEST", f"The job's request is no longer valid: {reason}"
        )
        return
    reporter = ProgressReporter(job_id, owner, job.progress, job.details)
    work_dir = Path(app.config["WORK_DIR"]) / job_id
    work_dir.mkdir(parents=True, exist_ok=True)
    ctx = StageContext(
        job_id=job_id,
        spec=spec,
        work_dir=work_dir,
        videos_dir=Path(app.config["VIDEOS_DIR"]),
        uploads_dir=user_uploads_dir(Path(app.config["UPLOADS_DIR"]), job.owner_id),
        created_at=job.created_at,
        log=reporter.log,
        should_cancel=flags.should_stop,
    )
    done = STAGES.index(job.stage_done) + 1 if job.stage_done in STAGES else 0
    if job.attempts > 1 or job.stage_done:
        reporter.log(f"Attempt {job.attempts}: resuming after stage {job.stage_done or 'none'}")
    try:
        for stage in STAGES[done:]:
            with ctx.timed(stage):
                STAGE_FUNCTIONS[stage](ctx, reporter.stage(stage))
            if stage != "compile":
                reporter.update(STAGE_RANGES[stage][1], f"Finished {stage}", force=True)
                store.mark_stage_done(job_id, owner, stage)
        reporter.flush()
        if flags.should_stop() or store.is_cancel_requested(job_id):
            raise Cancelled
        _finish(ctx, job_id, owner)
    except Cancelled:
        _stopped(ctx, job_id, owner, flags)
    except StageError as exc:
        ctx.remove_partial_output()
        reporter.flush()
        store.fail(job_id, owner, exc.code, exc.message)
    except Exception:
        log.exception("job crashed job=%s", job_id)
        ctx.remove_partial_output()
        reporter.flush()
        store.fail(job_id, owner, "INTERNAL_ERROR", "The pipeline failed unexpectedly.")


def _finish(ctx: StageContext, job_id: str, owner: str) -> None:
    """Rename the finished file into videos/; only then is the job complete."""
    video, thumbnail, duration = ctx.publish_output()
    if not store.complete(
        job_id, owner, video.name, thumbnail.name if thumbnail else None, duration
    ):
        log.warning("job finished after losing its lease job=%s", job_id)
        return
    log.info("job completed job=%s video=%s duration=%.2f", job_id, video.name, duration)


def _stopped(ctx: StageContext, job_id: str, owner: str, flags: _Flags) -> None:
    ctx.remove_partial_output()
    if flags.lost.is_set():
        log.warning("job lease lost, stopping job=%s", job_id)
        return
    store.mark_cancelled(job_id, owner)
    shutil.rmtree(ctx.work_dir, ignore_errors=True)
    log.info("job cancelled job=%s", job_id)


def _heartbeat(app: Flask, job_id: str, owner: str, flags: _Flags) -> None:
    """Renew the lease every heartbeat; look for cancel requests more often than that."""
    interval = float(app.config["JOB_HEARTBEAT_SECONDS"])
    lease = float(app.config["JOB_LEASE_SECONDS"])
    poll = min(interval, CANCEL_POLL_SECONDS)
    next_beat = time.monotonic() + interval
    with app.app_context():
        while not flags.done.wait(poll):
            try:
                if store.is_cancel_requested(job_id):
                    flags.cancel.set()
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + interval
                    if not store.heartbeat(job_id, owner, lease):
                        flags.lost.set()
                        return
            except Exception:
                log.exception("heartbeat failed job=%s", job_id)
