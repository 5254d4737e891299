"""GET /health: the Vite app's green badge, plus honest dependency checks for operators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, request

from .. import space
from ..jobs import admission, service, upstreams
from ..jobs.executors import get_executor
from ..pipeline.ffmpeg import ffmpeg_exe
from .docs import documented
from .schemas.jobs import Health

bp = Blueprint("health", __name__)

VERSION = "0.1.0"


DATABASE_WORDS = {
    "disk_full": "its disk is full",
    "read_only": "it is read-only",
    "unavailable": "it cannot be opened",
}


def _database() -> dict[str, Any]:
    """Writable, not just reachable: room on its disk, and a no-op UPDATE gets the write lock.

    The UPDATE alone passes on a full disk (it writes nothing), hence the free-space look.
    """
    problem = space.database_storage_problem(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if problem is not None:
        return _not_writable(problem, DATABASE_WORDS[problem])
    try:
        service.check_database_writable()
        return {"ok": True}
    except Exception as exc:
        problem = space.database_problem(exc)
        return _not_writable(problem, DATABASE_WORDS[problem] if problem else type(exc).__name__)


def _not_writable(reason: str | None, words: str) -> dict[str, Any]:
    return {"ok": False, "reason": reason, "message": f"database not writable: {words}"}


def _ffmpeg() -> dict[str, Any]:
    try:
        return {"ok": True, "path": Path(ffmpeg_exe()).name}
    except Exception:
        return {"ok": False, "message": "ffmpeg binary not found (imageio-ffmpeg not installed?)"}


def _disk() -> dict[str, Any]:
    """Free space of every media folder; a low one is named (submits and uploads get 507)."""
    free = space.media_free_mb(current_app.config)
    minimum = int(current_app.config["HEALTH_MIN_FREE_MB"])
    low = [name for name, mb in free.items() if mb < minimum]
    check: dict[str, Any] = {"ok": not low, "free_mb": min(free.values())}
    check.update(min_free_mb=minimum, folders=free)
    if low:
        folders = ", ".join(f"{name} ({free[name]} MB free)" for name in low)
        refused = "new jobs and uploads are refused"
        check.update(low=low, message=f"low on disk space: {folders}; {refused}")
    return check


def _queue() -> dict[str, Any]:
    limit = int(current_app.config["JOB_QUEUE_LIMIT"])
    counts = service.queue_counts()
    return {"ok": counts["queued"] < limit, **counts, "limit": limit}


def _workers() -> dict[str, Any]:
    executor = get_executor(current_app)
    if executor is None:
        return {"ok": False, "message": "no job workers in this process", "alive": 0}
    return executor.health()


def _upstreams() -> dict[str, Any]:
    services = upstreams.health(current_app)
    return {"ok": all(s["ok"] for s in services.values()), "services": services}


@bp.before_app_request
def refuse_uploads_when_low() -> None:
    """Any multipart POST may carry an upload: refuse it (507) under the /health threshold.

    Checked before the body is read, so a nearly full disk is not filled by the upload.
    JSON submits are refused in service.submit, which every job goes through.
    """
    if request.method == "POST" and request.mimetype == "multipart/form-data":
        admission.require_room()


@bp.get("/health")
@documented(
    "Liveness and dependency checks", {200: Health, 503: (Health, "A check failed")}, auth="public"
)
def get_health():
    checks = {"database": _database(), "ffmpeg": _ffmpeg()}
    if not checks["database"]["ok"] or not checks["ffmpeg"]["ok"]:
        return {"status": "error", "version": VERSION, "checks": checks}, 503
    checks.update(disk=_disk(), queue=_queue(), workers=_workers())
    if current_app.config["UPSTREAMS"]:
        checks["upstreams"] = _upstreams()
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return {"status": status, "version": VERSION, "checks": checks}
