"""Logs as text (default) or one JSON object a line (SORA_LOG_FORMAT=json) for collectors.

Both carry the request id (observe.request_ids); JSON keeps the project's key=value message
as it is, so a line reads the same in either form.
"""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

from .request_context import RequestIdFilter

TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s request_id=%(request_id)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d"


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter(
            JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level"}, timestamp=False
        )
    return logging.Formatter(TEXT)


def configure(kind: str) -> None:
    """Once per process, unless logging is set up already (pytest, an embedding program)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter(kind))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
