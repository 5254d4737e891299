"""The job table: the single source of truth every surface and worker reads."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

LOCAL_STAGE_RANGES: dict[str, tuple[float, float]] = {
    "script": (0.0, 25.0),
    "images": (25.0, 50.0),
    "narration": (50.0, 75.0),
    "compile": (75.0, 100.0),
}
"""The one stage registry: the local pipeline's stages in order, each with the slice of the
0-100 bar it drives (contract 1's step indicator). Everything else is derived from it."""

EXTERNAL_STAGE_RANGES: dict[str, tuple[float, float]] = {"external": (0.0, 100.0)}
"""engine sora: one stage, the external API renders the whole video."""

STAGE_RANGES: dict[str, tuple[float, float]] = {**LOCAL_STAGE_RANGES, **EXTERNAL_STAGE_RANGES}
STAGES: tuple[str, ...] = tuple(LOCAL_STAGE_RANGES)
"""Pipeline stages in order; `Job.stage_done` names the last one finished."""
EXTERNAL_STAGES: tuple[str, ...] = tuple(EXTERNAL_STAGE_RANGES)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})

CONTRACT1_STATUS = {
    JobStatus.QUEUED: "generating",
    JobStatus.RUNNING: "generating",
    JobStatus.COMPLETED: "complete",
    JobStatus.FAILED: "error",
    JobStatus.CANCELLED: "cancelled",
}
"""How contract 1 (the Vite app) words each status."""


TASK_STATUS = {
    JobStatus.QUEUED: "QUEUED",
    JobStatus.RUNNING: "PROCESSING",
    JobStatus.COMPLETED: "COMPLETED",
    JobStatus.FAILED: "FAILED",
    JobStatus.CANCELLED: "CANCELLED",
}
"""How contract 2 (the task API) words each status."""

VIDEO_ID_PREFIX = "video_"
"""Contract 2's videoId is `video_<job id>`: the same row, addressed by either name."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    return uuid.uuid4().hex


LOCAL_USER_ID = "local"
"""Owner of every request without a token in AUTH_MODE=open (the single-user local box)."""


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "created_at": iso_utc(self.created_at),
        }


class AuthSession(db.Model):
    """One login: every token minted from it (access, refresh, media) names it in `sid`,
    so logging out ends them all at once, whichever of them leaked."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_created", "created_at"),
        Index("ix_jobs_updated", "updated_at"),
        Index("ix_jobs_owner_updated", "owner_id", "updated_at"),
        # Fast reads (0003_read_indexes): the caller's latest job, newest first with its
        # tie-break, straight off the index; a media file's job by exact name.
        Index("ix_jobs_owner_created", "owner_id", "created_at", "id"),
        Index("ix_jobs_video_path", "video_path"),
        Index("ix_jobs_thumbnail_path", "thumbnail_path"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    engine: Mapped[str] = mapped_column(String(16), default="local")
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_json: Mapped[str] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    substatus: Mapped[str] = mapped_column(String(200), default="Queued")
    details: Mapped[str] = mapped_column(Text, default="")
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    video_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    thumbnail_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    video_duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    stage_done: Mapped[str | None] = mapped_column(String(16), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    external_video_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    """Bumped by the store in the same UPDATE as every real change (not lease renewals): the
    event id and resume point of live streams (jobs/events.py)."""

    @property
    def request(self) -> dict[str, Any]:
        return json.loads(self.request_json)

    @property
    def job_status(self) -> JobStatus:
        return JobStatus(self.status)

    def to_progress_dict(self) -> dict[str, Any]:
        """Contract 1's /api/progress view of this job (extra fields are extensions)."""
        status = self.job_status
        body: dict[str, Any] = {
            "status": CONTRACT1_STATUS[status],
            "progress": int(self.progress),
            "substatus": self.substatus,
            "details": self.details,
            "job_id": self.id,
            "state": status.value,
            "stage": _stage_of(self.progress, status),
            "attempts": self.attempts,
            "created_at": iso_utc(self.created_at),
        }
        if status is JobStatus.COMPLETED:
            body["video_path"] = self.video_path
            body["video_url"] = f"/api/video/{self.video_path}"
            if self.thumbnail_path:
                body["thumbnail_url"] = f"/api/video/{self.thumbnail_path}"
            body["duration"] = self.video_duration
        if status in (JobStatus.FAILED, JobStatus.CANCELLED):
            body["error"] = self.error_message or "Job stopped"
            body["error_code"] = self.error_code
        return body


def to_task_dict(job: Job) -> dict[str, Any]:
    """Contract 2's camelCase view of a job (the task API and its live messages)."""
    status = job.job_status
    request = job.request  # parsed once: each read of the property parses the stored JSON
    task = request.get("task", {})
    body: dict[str, Any] = {
        "videoId": f"{VIDEO_ID_PREFIX}{job.id}",
        "externalVideoId": job.external_video_id,
        "jobId": job.id,
        "status": TASK_STATUS[status],
        "progress": int(job.progress),
        "message": job.substatus,
        "prompt": task.get("prompt", request.get("topic")),
        "model": task.get("model", "local"),
        "duration": task.get("seconds"),
        "createdAt": iso_utc(job.created_at),
        "updatedAt": iso_utc(job.updated_at),
        "completedAt": iso_utc(job.finished_at) if status is JobStatus.COMPLETED else None,
    }
    if status is JobStatus.COMPLETED:
        body["videoUrl"] = f"/api/video/{job.video_path}"
        body["thumbnailUrl"] = f"/api/video/{job.thumbnail_path}" if job.thumbnail_path else None
        body["videoDuration"] = job.video_duration
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        body["error"] = {"code": job.error_code, "message": job.error_message}
    return body


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite hands datetimes back without their zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=moment.tzinfo or UTC).isoformat()


def _stage_of(progress: float, status: JobStatus) -> str:
    if status is JobStatus.QUEUED:
        return "queued"
    if status is JobStatus.COMPLETED:
        return "done"
    return next((name for name in STAGES if progress < LOCAL_STAGE_RANGES[name][1]), STAGES[-1])
