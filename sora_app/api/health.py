"""GET /health: the Vite app's green badge, plus honest dependency checks for operators."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import text

from ..extensions import db
from ..jobs import store, upstreams
from ..jobs.executors import get_executor
from ..models import JobStatus
from ..pipeline.ffmpeg import ffmpeg_exe

bp = Blueprint("health", __name__)

VERSION = "0.1.0"


def _database() -> dict[str, Any]:
    """Writable, not just reachable: a no-op UPDATE needs the write lock."""
    try:
        db.session.rollback()
        db.session.execute(text("UPDATE jobs SET id = id WHERE 1 = 0"))
        db.session.commit()
        return {"ok": True}
    except Exception as exc:
        db.session.rollback()
        return {"ok": False, "message": f"database not writable: {type(exc).__name__}"}


def _ffmpeg() -> dict[str, Any]:
    try:
        return {"ok": True, "path": Path(ffmpeg_exe()).name}
    except Exception:
        return {"ok": False, "message": "ffmpeg binary not found (imageio-ffmpeg not installed?)"}


def _disk() -> dict[str, Any]:
    videos: Path = current_app.config["VIDEOS_DIR"]
    free_mb = shutil.disk_usage(videos if videos.exists() else videos.parent).free // 2**20
    minimum = int(current_app.config["HEALTH_MIN_FREE_MB"])
    return {"ok": free_mb >= minimum, "free_mb": free_mb, "min_free_mb": minimum}


def _queue() -> dict[str, Any]:
    limit = int(current_app.config["JOB_QUEUE_LIMIT"])
    queued = store.count_by_status(JobStatus.QUEUED)
    running = store.count_by_status(JobStatus.RUNNING)
    return {"ok": queued < limit, "queued": queued, "running": running, "limit": limit}


def _workers() -> dict[str, Any]:
    executor = get_executor(current_app)
    if executor is None:
        return {"ok": False, "message": "no job workers in this process", "alive": 0}
    alive = executor.alive_workers
    return {"ok": alive > 0, "alive": alive, "busy": executor.busy_workers}


def _upstreams() -> dict[str, Any]:
    services = upstreams.health(current_app)
    return {"ok": all(s["ok"] for s in services.values()), "services": services}


@bp.get("/health")
def get_health():
    checks = {"database": _database(), "ffmpeg": _ffmpeg()}
    if not checks["database"]["ok"] or not checks["ffmpeg"]["ok"]:
        return {"status": "error", "version": VERSION, "checks": checks}, 503
    checks.update(disk=_disk(), queue=_queue(), workers=_workers())
    if current_app.config["UPSTREAMS"]:
        checks["upstreams"] = _upstreams()
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return {"status": status, "version": VERSION, "checks": checks}
