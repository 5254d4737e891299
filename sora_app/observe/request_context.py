"""The current request's id, without Flask: what the log filter and upstream calls read.

A context variable, so each request thread (and each job thread, as `job-<id>`) has its own.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from typing import Any

HEADER = "X-Request-ID"
ACCEPTED = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
"""A client's id is kept only if it is short and plain (it ends up in logs and headers)."""

current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def request_id_of(environ: dict[str, Any]) -> str:
    """The client's id when it is acceptable, else a new one."""
    sent = environ.get("HTTP_X_REQUEST_ID", "")
    return sent if ACCEPTED.match(sent) else uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (`-` outside a request or job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get() or "-"
        return True
