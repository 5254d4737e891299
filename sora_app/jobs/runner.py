"""Runs one claimed job through its stages, resuming after the last finished one.

Threads get the app and ids, never ORM objects; every DB write goes through `store`, and
no DB transaction is open while media work runs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask
from pydantic import ValidationError

from .. import space
from ..models import EXTERNAL_STAGES, STAGES
from ..observe import request_context
from ..pipeline.types import Cancelled, StageError
from ..space import database_problem, is_disk_full
from ..storage import storage_for
from . import store, upstream_deletes, upstreams, webhook_dispatch
from .backoff import Backoff
from .progress import STAGE_RANGES, ProgressReporter
from .spec import JobSpec
from .stages import STAGE_FUNCTIONS, StageContext

log = logging.getLogger(__name__)


@dataclass
class _Flags:
    """Set by the heartbeat thread, the cancel API and shutdown; read via should_cancel()."""

    lost: threading.Event
    cancel: threading.Event
    done: threading.Event
    stopping: threading.Event
    """The process is shutting down: stop, and let shutdown hand the job back."""
    webhook: bool = False
    """The job reports its end to a webhook: wake this process's sender when it stops."""

    def should_stop(self) -> bool:
        return self.lost.is_set() or self.cancel.is_set() or self.stopping.is_set()


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


def run_job(app: Flask, job_id: str, owner: str, stopping: threading.Event | None = None) -> None:
    """Entry point for an executor thread (or a Celery task) holding the job's lease."""
    request_context.current.set(f"job-{job_id}")  # its logs and upstream calls carry the job
    with app.app_context():
        flags = _Flags(
            threading.Event(), threading.Event(), threading.Event(), stopping or threading.Event()
        )
        beat = threading.Thread(
            target=_heartbeat, args=(app, job_id, owner, flags), daemon=True, name="heartbeat"
        )
        beat.start()
        _running[job_id] = flags
        try:
            _run_stages(app, job_id, owner, flags)
        except Exception as exc:
            _crashed(app, job_id, owner, exc)
        finally:
            _running.pop(job_id, None)
            flags.done.set()
            beat.join(timeout=5)
            if flags.webhook:
                webhook_dispatch.kick(app)


def _crashed(app: Flask, job_id: str, owner: str, exc: Exception) -> None:
    """What the stages' own handling missed: record it, so the job is never left running.

    Unless the database itself is failing: then nothing can be recorded, the lease runs out
    and the reaper re-queues the job (it resumes from its last finished stage) once it is back.
    """
    if database_problem(exc) is None:
        failure = _failure(app, exc)  # e.g. no room to create the job's work dir
        if failure is None:
            log.error("job crashed job=%s", job_id, exc_info=exc)
            failure = ("INTERNAL_ERROR", "The pipeline failed unexpectedly.")
        try:
            _fail(app, job_id, owner, *failure)
            return
        except Exception as again:
            if database_problem(again) is None:
                raise
            exc = again
    log.warning("job paused: database unavailable job=%s error=%s", job_id, exc)


def _context(app: Flask, job, owner: str, spec: JobSpec, flags: _Flags, log_line) -> StageContext:
    storage = storage_for(app.config)
    work_dir = storage.work_dir(job.id)  # keyed by job id only: any worker resumes it
    work_dir.mkdir(parents=True, exist_ok=True)
    return StageContext(
        job_id=job.id,
        attempt=job.attempts,
        spec=spec,
        work_dir=work_dir,
        videos_dir=storage.videos_dir,
        uploads_dir=storage.uploads_dir(job.owner_id),
        created_at=job.created_at,
        log=log_line,
        should_cancel=flags.should_stop,
        client_for=lambda name: upstreams.client(app, name),
        config=app.config,
        external_video_id=job.external_video_id,
        on_external_id=lambda video_id: store.set_external_id(job.id, owner, video_id),
        on_delete_failed=lambda video_id, why, error: upstream_deletes.record(
            job.id, video_id, why, error
        ),
        artefacts=storage.artefacts,
    )


def _run_stages(app: Flask, job_id: str, owner: str, flags: _Flags) -> None:
    job = store.get_job(job_id)
    if job is None:
        return
    flags.webhook = bool(job.request.get("webhook_url"))
    try:
        spec = JobSpec.model_validate(job.request)
    except ValidationError as exc:  # e.g. a voice removed from the catalogue since submission
        reason = exc.errors(include_url=False)[0]["msg"]
        _fail(
            app, job_id, owner, "INVALID_REQUEST", f"The job's request is no longer valid: {reason}"
        )
        return
    reporter = ProgressReporter(job_id, owner, job.progress, job.details)
    ctx = _context(app, job, owner, spec, flags, reporter.log)
    try:
        _advance(app, ctx, reporter, job, owner, flags)
    except Cancelled:
        _stopped(app, ctx, job_id, owner, flags)
    except Exception as exc:
        failure = _failure(app, exc)
        if failure is None:
            raise
        if flags.should_stop():
            # Failing while the process stops may be the stop's doing: hand it back instead.
            _stopped(app, ctx, job_id, owner, flags)
            return
        ctx.remove_partial_output()
        _flush_quietly(reporter)
        _fail(app, job_id, owner, *failure)


def _advance(
    app: Flask, ctx: StageContext, reporter: ProgressReporter, job, owner: str, flags: _Flags
) -> None:
    """Run the stages after the last finished one, then publish the video."""
    order = EXTERNAL_STAGES if ctx.spec.engine == "sora" else STAGES
    done = order.index(job.stage_done) + 1 if job.stage_done in order else 0
    if job.attempts > 1 or job.stage_done:
        reporter.log(f"Attempt {job.attempts}: resuming after stage {job.stage_done or 'none'}")
    for stage in order[done:]:
        with ctx.timed(stage):
            STAGE_FUNCTIONS[stage](ctx, reporter.stage(stage))
        if stage != order[-1]:
            reporter.update(STAGE_RANGES[stage][1], f"Finished {stage}", force=True)
            store.mark_stage_done(job.id, owner, stage)
    reporter.flush()
    if flags.should_stop() or store.is_cancel_requested(job.id):
        raise Cancelled
    _finish(app, ctx, job.id, owner)


def _failure(app: Flask, exc: Exception) -> tuple[str, str] | None:
    """(code, message) for a failure the user should see; None for a crash (or the database)."""
    if database_problem(exc) is not None:
        return None
    if is_disk_full(exc):
        where = space.where(space.full_folders(exc, app.config))
        return "DISK_FULL", (
            f"The server ran out of disk space in {where} while rendering. "
            "Free some space, then submit the job again."
        )
    if isinstance(exc, StageError):
        return exc.code, exc.message
    return None


def _flush_quietly(reporter: ProgressReporter) -> None:
    """The last details are nice to have; failing to write them must not block the failure."""
    try:
        reporter.flush()
    except Exception:
        log.exception("could not write final progress job=%s", reporter.job_id)


def _fail(app: Flask, job_id: str, owner: str, code: str, message: str) -> None:
    """Record the failure, then remove everything temporary the job wrote."""
    store.fail(job_id, owner, code, message)
    if not app.config.get("KEEP_WORK_DIRS"):
        storage_for(app.config).remove_job_files(job_id)


def _finish(app: Flask, ctx: StageContext, job_id: str, owner: str) -> None:
    """Rename the finished file into videos/; only then is the job complete."""
    video, thumbnail, duration = ctx.publish_output()
    if not store.complete(
        job_id, owner, video.name, thumbnail.name if thumbnail else None, duration
    ):
        log.warning("job finished after losing its lease job=%s", job_id)
        return
    log.info("job completed job=%s video=%s duration=%.2f", job_id, video.name, duration)
    if not app.config.get("KEEP_WORK_DIRS"):
        storage_for(app.config).remove_job_files(job_id)


def _stopped(app: Flask, ctx: StageContext, job_id: str, owner: str, flags: _Flags) -> None:
    """Cancelled: record it and clean up. Lost lease or shutdown: only drop our own partials."""
    ctx.remove_partial_output()
    if flags.lost.is_set() or (flags.stopping.is_set() and not flags.cancel.is_set()):
        log.warning("job stopped without finishing job=%s lost=%s", job_id, flags.lost.is_set())
        return
    # Files first: once the job reads `cancelled`, nothing of it is left (a cancel that dies
    # in between leaves the job running with its cancel flag set, and the next claim ends it).
    storage_for(app.config).remove_job_files(job_id)
    store.mark_cancelled(job_id, owner)
    log.info("job cancelled job=%s", job_id)


def _heartbeat(app: Flask, job_id: str, owner: str, flags: _Flags) -> None:
    """Renew the lease every heartbeat; look for cancel requests more often than that."""
    interval = float(app.config["JOB_HEARTBEAT_SECONDS"])
    lease = float(app.config["JOB_LEASE_SECONDS"])
    poll = min(interval, CANCEL_POLL_SECONDS)
    next_beat = time.monotonic() + interval
    trouble = Backoff(f"heartbeat job={job_id}", poll)  # for its logging: one line per state
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
            except Exception as exc:
                trouble.failed(exc)
                continue
            trouble.succeeded()
