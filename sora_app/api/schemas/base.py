"""The base of every answer model: a closed object, so an undocumented field fails a test."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    """A JSON answer (documentation only: views never build these)."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """Query or header parameters of a route (documentation only: views parse them)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class JobError(Answer):
    """Why a job failed or stopped (code CANCELLED for a cancelled one)."""

    code: str | None
    message: str | None
