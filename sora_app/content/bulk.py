"""Bulk requests: many topics or scripts with shared options, checked whole before a batch
is made, so a batch never holds an item that could not have been asked for on its own."""

from __future__ import annotations

from typing import Any

from flask import current_app
from pydantic import ValidationError

from ..errors import APIError
from ..jobs import admission
from ..jobs.spec import JobSpec
from .scripts import RENDER_OPTIONS, render_spec


def _bad(field: str, message: str) -> APIError:
    return APIError(400, "VALIDATION_ERROR", f"{field}: {message}", field=field)


def _named(exc: ValidationError, prefix: str) -> APIError:
    """A job option's error, named as the bulk request spelled it."""
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    field = where if where in _SHARED_FIELDS else f"{prefix}.{where}" if where else prefix
    return _bad(field, str(first["msg"]).removeprefix("Value error, "))


_SHARED_FIELDS = frozenset(JobSpec.model_fields)


def _strings(body: dict[str, Any], key: str, longest: int) -> list[str]:
    values = body.get(key) or []
    if not isinstance(values, list):
        raise _bad(key, "must be a list")
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip() or len(value) > longest:
            raise _bad(f"{key}[{i}]", f"must be a non-empty string of at most {longest} characters")
    return [value.strip() for value in values]


def items(body: dict[str, Any], owner_id: str) -> list[tuple[str, JobSpec]]:
    """(label, job request) for every topic, then every script; shared options for all."""
    topics, script_ids = _strings(body, "topics", 200), _strings(body, "script_ids", 64)
    options = {k: v for k, v in body.items() if k not in ("topics", "script_ids")}
    total, limit = len(topics) + len(script_ids), int(current_app.config["MAX_BATCH_VIDEOS"])
    if total == 0:
        raise _bad("topics", "send at least one topic (topics) or script id (script_ids)")
    if total > limit:
        raise _bad("topics", f"a batch holds at most {limit} videos; this one asks for {total}")
    made: list[tuple[str, JobSpec]] = []
    for i, topic in enumerate(topics):
        try:
            made.append((topic, JobSpec.model_validate({**options, "topic": topic})))
        except ValidationError as exc:
            raise _named(exc, f"topics[{i}]") from None
    # A script decides its own words, length and scenes: the topics' options for those
    # (duration, num_scenes, story_type, ...) do not apply to it, its render options do.
    render_options = {k: v for k, v in options.items() if k in RENDER_OPTIONS}
    for i, script_id in enumerate(script_ids):
        try:
            spec = render_spec(script_id, owner_id, render_options)
        except ValidationError as exc:
            raise _named(exc, f"script_ids[{i}]") from None
        except APIError as exc:
            raise APIError(exc.status, exc.code, exc.message, field=f"script_ids[{i}]") from None
        made.append((spec.topic, spec))
    for _label, spec in made:  # what a single submit would refuse, the batch refuses now
        admission.check(spec, owner_id)
    return made
