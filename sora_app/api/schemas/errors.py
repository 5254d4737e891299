"""The error shapes: one per surface, as errors.error_response renders them."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from .base import Answer


class ErrorBody(Answer):
    """Every /api and /health error (contract 4's one shape)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"error": "VALIDATION_ERROR", "message": "pacing: must be one of: slow, "
                 "moderate, dynamic, fast", "field": "pacing",
                 "details": {"errors": [{"field": "pacing", "message": "must be one of: slow, "
                                         "moderate, dynamic, fast", "type": "value_error"}]}}
            ]
        },
    )  # fmt: skip

    error: str = Field(description="A stable machine code, e.g. VALIDATION_ERROR, JOB_NOT_FOUND.")
    message: str = Field(description="For people.")
    field: str | None = Field(default=None, description="The offending input, when one is.")
    details: dict[str, Any] | None = Field(default=None, description="More, e.g. every error.")


class TaskErrorBody(ErrorBody):
    """Contract 2 (/api/video/tasks, /api/video/stats): the same fields in its envelope."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"success": False, "error": "TASK_NOT_FOUND", "message": "No such job.",
                 "field": "videoId"}
            ]
        },
    )  # fmt: skip

    success: bool = Field(description="Always false on an error.")


class OpenAIErrorDetail(Answer):
    message: str
    type: str = Field(
        description="invalid_request_error, authentication_error, permission_error, "
        "rate_limit_error or server_error (by status)"
    )
    param: str | None = Field(description="The offending field, if any.")
    code: str | None = Field(description="Our machine code in lower case, e.g. video_not_found.")


class OpenAIErrorBody(Answer):
    """/v1 errors in OpenAI's shape, which the official SDKs raise as their typed errors."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"error": {"message": "No video 'video_x'.", "type": "invalid_request_error",
                           "param": "video_id", "code": "video_not_found"}}
            ]
        },
    )  # fmt: skip

    error: OpenAIErrorDetail
