"""Removing a job's temporary files: its partial outputs in videos/ and its work dir.

Partial outputs are named `.<job_id>.<attempt>.part*` (see StageContext), so one attempt
never deletes what another attempt of the same job is writing, and everything of a job can
still be found by its id.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def partial_outputs(videos_dir: Path, job_id: str) -> list[Path]:
    return sorted(videos_dir.glob(f".{job_id}.*"))


def remove_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def remove_job_files(videos_dir: Path, work_root: Path, job_id: str) -> None:
    """Everything temporary a job ever wrote, for a job that has ended for good."""
    remove_paths([*partial_outputs(videos_dir, job_id), work_root / job_id])


def sweep_orphans(videos_dir: Path, active_job_ids: set[str]) -> int:
    """Delete partial outputs of jobs that are not running (left by a killed process)."""
    removed = 0
    for path in videos_dir.glob(".*.part*"):
        job_id = path.name[1:].split(".", 1)[0]
        if job_id not in active_job_ids:
            remove_paths([path])
            removed += 1
    if removed:
        log.info("orphaned partial outputs removed count=%s", removed)
    return removed
