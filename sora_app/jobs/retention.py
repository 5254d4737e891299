"""Disk retention for operators (`flask --app sora_app cleanup`): old videos and work files go
by age and by total size, the oldest finished job first.

Unlike the periodic prune (maintenance.prune), which never deletes a video, this is the
operator's explicit policy: a finished job past the age, or beyond the size budget, goes
whole (video, thumbnail, scene stills, work files, row), as a library DELETE would do it.
Queued and running jobs are never touched; their files only count toward the total. Work
dirs that belong to no job (left by a deleted row) go by their age too. The plan is computed
first, so `--dry-run` shows exactly what a run would remove. Clocks are parameters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from ..extensions import db
from ..models import FINAL_STATUSES, LOCAL_USER_ID, Job
from ..storage import Storage, storage_for
from . import cleanup, scenes, service

log = logging.getLogger(__name__)


@dataclass
class Item:
    """One removable thing: a finished job's files (and row), or an orphaned work dir."""

    key: str
    """The job id, or `work/<name>` for a work dir without a job."""
    status: str
    ended: datetime
    paths: list[Path]
    size: int
    owner_id: str | None = None
    reason: str = ""


@dataclass
class Plan:
    removals: list[Item] = field(default_factory=list)
    total_before: int = 0
    active_bytes: int = 0
    """Files of queued and running jobs: counted, never removed."""

    @property
    def freed(self) -> int:
        return sum(item.size for item in self.removals)

    @property
    def total_after(self) -> int:
        return self.total_before - self.freed


def plan(
    app: Flask,
    *,
    now: datetime | None = None,
    older_than_days: float | None = None,
    max_total_bytes: int | None = None,
) -> Plan:
    """What a cleanup would remove: everything ended before the cutoff, then the oldest until
    the total fits. Call inside an app context."""
    now = now or datetime.now(UTC)
    storage = storage_for(app.config)
    finished, active = _inventory(storage)
    result = Plan(active_bytes=sum(_size(p) for p in active))
    result.total_before = result.active_bytes + sum(item.size for item in finished)
    cutoff = now - timedelta(days=older_than_days) if older_than_days is not None else None
    total = result.total_before
    for item in finished:  # oldest first
        if cutoff is not None and item.ended < cutoff:
            item.reason = f"older than {older_than_days:g} days"
        elif max_total_bytes is not None and total > max_total_bytes and item.size:
            item.reason = f"over {max_total_bytes / 1e9:g} GB"
        else:
            continue
        result.removals.append(item)
        total -= item.size
    return result


def apply(app: Flask, chosen: Plan) -> list[str]:
    """Remove what the plan names (a job whose state changed meanwhile is left alone)."""
    storage = storage_for(app.config)
    done: list[str] = []
    for item in chosen.removals:
        if item.key.startswith("work/"):
            cleanup.remove_paths(item.paths)
        else:
            job = db.session.get(Job, item.key)
            if job is None or job.job_status not in FINAL_STATUSES:
                continue
            storage.remove_job_files(item.key)
            try:
                service.delete(item.key, item.owner_id or LOCAL_USER_ID)
            except service.JobNotFound:
                continue
        done.append(item.key)
    log.info("event=cleanup removed=%s freed_bytes=%s", len(done), chosen.freed)
    return done


def _inventory(storage: Storage) -> tuple[list[Item], list[Path]]:
    """Finished jobs and orphaned work dirs, oldest first; and the paths of active jobs."""
    db.session.rollback()
    jobs = db.session.execute(
        select(Job.id, Job.status, Job.owner_id, Job.video_path, Job.thumbnail_path,
               Job.finished_at, Job.updated_at)
    ).all()  # fmt: skip
    finished: list[Item] = []
    active: list[Path] = []
    for job_id, status, owner, video, thumbnail, finished_at, updated_at in jobs:
        paths = _job_paths(storage, job_id, video, thumbnail)
        if status not in {s.value for s in FINAL_STATUSES}:
            active += paths
            continue
        ended = _aware(finished_at or updated_at)
        size = sum(_size(p) for p in paths)
        finished.append(Item(job_id, status, ended, paths, size, owner))
    known = {row[0] for row in jobs}
    finished += _orphaned_work(storage.work_root, known)
    finished.sort(key=lambda item: (item.ended, item.key))
    return finished, active


def _job_paths(storage: Storage, job_id: str, video: str | None, thumb: str | None) -> list[Path]:
    videos = storage.videos_dir
    paths = [storage.work_dir(job_id), *cleanup.partial_outputs(videos, job_id)]
    if video:
        paths += [storage.media_path(video), *scenes.published_files(videos, video)]
    if thumb:
        paths.append(storage.media_path(thumb))
    return [p for p in paths if p.exists()]


def _orphaned_work(work_root: Path, known: set[str]) -> list[Item]:
    if not work_root.is_dir():
        return []
    return [
        Item(f"work/{path.name}", "orphaned", _mtime(path), [path], _size(path))
        for path in work_root.iterdir()
        if path.is_dir() and path.name not in known
    ]


def _size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _mtime(path: Path) -> datetime:
    """A work dir's last change: the newest mtime inside it (a resumed job writes deep down)."""
    stamps = [path.stat().st_mtime, *(p.lstat().st_mtime for p in path.rglob("*"))]
    return datetime.fromtimestamp(max(stamps), UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone (always UTC here)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
