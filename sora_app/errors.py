"""One JSON error shape for every failure: {"error": CODE, "message": ..., "field"?, "details"?}."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, current_app, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import space
from .extensions import db

log = logging.getLogger(__name__)

ENVELOPE_PREFIXES = ("/api/video/tasks", "/api/video/stats")
"""Surfaces (contract 2) whose answers carry "success"."""
OPENAI_PREFIX = "/v1/"
"""The OpenAI-compatible surface: its errors in OpenAI's shape (see openai_error)."""
OPENAI_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    429: "rate_limit_error",
}
"""OpenAI's `type` by status: other 4xx are invalid_request_error, 5xx server_error."""

DATABASE_RETRY_AFTER_SECONDS = 30

DATABASE_MESSAGES = {
    "disk_full": "The database's disk is full, so the request could not be completed.",
    "read_only": "The database is read-only right now, so the request could not be completed.",
    "unavailable": "The database cannot be used right now, so the request could not be completed.",
}


class APIError(Exception):
    """Raised by views and services; rendered by the handler below."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
):
    if has_request_context() and request.path.startswith(OPENAI_PREFIX):
        return openai_error(status, code, message, field=field, headers=headers)
    body: dict[str, Any] = {"error": code, "message": message}
    if has_request_context() and request.path.startswith(ENVELOPE_PREFIXES):
        body = {"success": False, **body}  # contract 2's envelope, same error fields
    if field is not None:
        body["field"] = field
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def openai_error(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
):
    """`{"error": {"message", "type", "param", "code"}}`, which the OpenAI SDKs raise as
    their typed exceptions (BadRequestError, NotFoundError, RateLimitError, ...)."""
    kind = OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    error = {"message": message, "type": kind, "param": field, "code": code.lower()}
    response = jsonify({"error": error})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def storage_full(low: dict[str, int], minimum: int) -> APIError:
    """507 while a media folder is below the threshold /health warns at: refuse new work."""
    folders = ", ".join(f"{name} ({mb} MB free)" for name, mb in low.items())
    return APIError(
        507,
        "STORAGE_FULL",
        f"The server is low on disk space: {folders}; at least {minimum} MB is needed. "
        "New jobs and uploads are refused until space is freed.",
        details={"folders": list(low), "free_mb": low, "min_free_mb": minimum},
    )


def storage_error(exc: Exception) -> APIError | None:
    """A full disk (507) or an unusable database (503 + Retry-After); None for anything else."""
    problem = space.database_problem(exc)
    if problem is not None:
        return APIError(
            503,
            "DATABASE_UNAVAILABLE",
            f"{DATABASE_MESSAGES[problem]} Try again later.",
            details={"reason": problem},
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if not space.is_disk_full(exc):
        return None
    folders = space.full_folders(exc, current_app.config)
    return APIError(
        507,
        "STORAGE_FULL",
        f"The server has no room left in {space.where(folders)}, so nothing was stored. "
        "Try again once space is freed.",
        details={"folders": folders} if folders else None,
    )


def _code_for(exc: HTTPException) -> str:
    """Turn werkzeug's 'Request Entity Too Large' into 'REQUEST_ENTITY_TOO_LARGE'."""
    name = (exc.name or "error").upper()
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def handle_api_error(exc: APIError):
        return error_response(
            exc.status,
            exc.code,
            exc.message,
            field=exc.field,
            details=exc.details,
            headers=exc.headers,
        )

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(exc: RequestEntityTooLarge):
        """Say how much is allowed and which setting allows it (uploads have their own)."""
        limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
        upload = limit == current_app.config["MAX_UPLOAD_BYTES"]
        setting = "SORA_MAX_UPLOAD_BYTES" if upload else "SORA_MAX_REQUEST_BYTES"
        return error_response(
            413, "REQUEST_ENTITY_TOO_LARGE",
            f"The request body is over the limit of {limit} bytes ({setting}).",
            details={"limit_bytes": limit, "setting": setting},
        )  # fmt: skip

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        # Keep what the exception says about itself (Allow on 405, Content-Range on 416).
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return error_response(
            exc.code or 500, _code_for(exc), exc.description or "", headers=headers
        )

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        storage = storage_error(exc)
        if storage is None:
            log.exception("unhandled error")
            return error_response(500, "INTERNAL_ERROR", "An unexpected error occurred.")
        with contextlib.suppress(Exception):
            db.session.rollback()  # a failed commit leaves the session unusable until then
        log.warning(
            "event=storage_refused path=%s code=%s details=%s error=%s",
            request.path, storage.code, storage.details, exc,
        )  # fmt: skip
        return handle_api_error(storage)
