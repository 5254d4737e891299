"""Parameters of the live channels (SSE streams, the /ws handshake) and their event kinds."""

from __future__ import annotations

from pydantic import Field

from .base import Query

SSE_EVENTS = {
    "progress": "data: the job's progress (Progress) while it is queued or running",
    "complete": "data: the final Progress of a completed job",
    "error": "data: the final Progress of a failed job",
    "cancelled": "data: the final Progress of a cancelled job",
}
"""Event kinds of /api/jobs/{id}/events and /api/events; idle streams get `: ping` comments."""


class ResumeHeaders(Query):
    last_event_id: str | None = Field(
        default=None, alias="Last-Event-ID", max_length=80,
        description="Resume after this event id (a version, or <job id>:<version>)",
    )  # fmt: skip


class WsQuery(Query):
    token: str | None = Field(
        default=None, description="A media or access token (browsers cannot send headers)"
    )
