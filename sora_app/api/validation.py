"""Turns request bodies into validated specs, and pydantic errors into the project's shape."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from ..errors import APIError

M = TypeVar("M", bound=BaseModel)
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def parsed_json() -> Any:
    """The request body as JSON, or None when it is not JSON a server should act on.

    Absurdly deep nesting (RecursionError while decoding) and lone surrogates ("\\ud800",
    which no UTF-8 database or response can hold) are bad input, not server faults.
    Curl users who forget the Content-Type are still understood.
    """
    try:
        body = request.get_json(force=True, silent=True)
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (RecursionError, UnicodeEncodeError):
        return None
    return body


def json_body() -> dict[str, Any]:
    """The request's JSON object, or 400 INVALID_JSON."""
    body = parsed_json()
    if not isinstance(body, dict):
        raise APIError(
            400, "INVALID_JSON", "The request body must be a JSON object of valid Unicode text."
        )
    return body


def _field_name(loc: tuple[Any, ...]) -> str:
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name


def _human(error: dict[str, Any]) -> str:
    if error["type"] == "missing":
        return "is required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_error(exc: ValidationError) -> APIError:
    errors = [
        {"field": _field_name(e["loc"]), "message": _human(e), "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    first = errors[0]
    field = first["field"] or None
    message = f"{field}: {first['message']}" if field else first["message"]
    return APIError(400, "VALIDATION_ERROR", message, field=field, details={"errors": errors})


def parse(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from None


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter in [low, high], or 400 naming it."""
    raw = request.args.get(name, str(default))
    if not WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:  # not isdigit(): "²"
        raise APIError(
            400, "VALIDATION_ERROR", f"{name} must be a whole number {low}-{high}.", field=name
        )
    return int(raw)


@dataclass(frozen=True)
class Page:
    """?page=&limit= of a list route (1-based page, 1-100 items, 20 by default)."""

    number: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.limit

    def body(self, total: int) -> dict[str, Any]:
        """The paging fields every list answer carries (the task API words its own)."""
        return {"total": total, "page": self.number, "limit": self.limit,
                "has_more": self.number * self.limit < total}  # fmt: skip


def page_args() -> Page:
    return Page(int_arg("page", 1, 1, 100_000), int_arg("limit", 20, 1, 100))
