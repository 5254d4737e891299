"""One JSON error shape for every failure: {"error": CODE, "message": ..., "field"?, "details"?}."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

ENVELOPE_PREFIXES = ("/api/video/tasks", "/api/video/stats")
"""Surfaces (contract 2) whose answers carry "success"."""


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

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        # Keep what the exception says about itself (Allow on 405, Content-Range on 416).
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return error_response(
            exc.code or 500, _code_for(exc), exc.description or "", headers=headers
        )

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "INTERNAL_ERROR", "An unexpected error occurred.")
