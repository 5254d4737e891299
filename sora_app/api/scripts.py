"""Scripts as resources (the creator workflow): write or bring one, edit it, render it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from pydantic import ValidationError

from ..auth import current_owner
from ..content import scripts
from ..content.bodies import ScriptCreate, ScriptPatch
from ..errors import APIError
from ..extensions import limiter
from ..ratelimits import accepted, caller, limit_from
from .docs import Empty, EventStream, documented
from .schemas.library import Paging, RenderAccepted, ScriptPage, ScriptVersionQuery, ScriptView
from .schemas.requests import RenderRequest
from .script_stream import stream_script, wants_stream
from .validation import int_arg, json_body, page_args, parse, validation_error

bp = Blueprint("scripts", __name__, url_prefix="/api/scripts")


@bp.post("")
@documented(
    "Write a script (or store your own); Accept: text/event-stream streams it",
    request=ScriptCreate,
    responses={
        201: ScriptView,
        200: EventStream(
            "With Accept: text/event-stream.",
            {
                "scene": "a scene as the writer finishes it",
                "done": "the stored script (ScriptView)",
                "error": "{error, message}",
            },
        ),
    },
    errors={
        400: "VALIDATION_ERROR, LANGUAGE_NEEDS_SCRIPT_MODEL, UPSTREAM_NOT_CONFIGURED",
        429: "RATE_LIMITED, TOO_MANY_STREAMS",
    },
    examples={"topic": {"topic": "The Vanishing Lighthouse", "duration": 0.5, "num_scenes": 4}},
)
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def create_script():
    """201 and the script; with `Accept: text/event-stream`, the script as it is written."""
    parsed = parse(ScriptCreate, json_body())  # bad input is a plain 400 before any stream
    if wants_stream(request.headers.get("Accept", "")):
        scripts.check_writer(parsed)
        return stream_script(parsed, current_owner())
    script, body = scripts.create(parsed, current_owner())
    return scripts.view(script, body), 201


@bp.get("")
@documented("Your scripts", {200: ScriptPage}, query=Paging, errors={400: "VALIDATION_ERROR"})
def list_scripts():
    page = page_args()
    found, total = scripts.list_for_owner(current_owner(), page.offset, page.limit)
    return {"scripts": [script.summary() for script in found], **page.body(total)}


@bp.get("/<script_id>")
@documented(
    "A script (or one of its versions)",
    {200: ScriptView},
    query=ScriptVersionQuery,
    errors={400: "VALIDATION_ERROR", 404: "SCRIPT_NOT_FOUND, VERSION_NOT_FOUND"},
)
def get_script(script_id: str):
    version = int_arg("version", 0, 0, 1_000_000) or None
    script, body = scripts.get(script_id, current_owner(), version)
    return scripts.view(script, body, version)


@bp.patch("/<script_id>")
@documented(
    "Edit a script: a new version",
    {200: ScriptView},
    request=ScriptPatch,
    errors={400: "VALIDATION_ERROR", 404: "SCRIPT_NOT_FOUND", 409: "VERSION_CONFLICT"},
)
def edit_script(script_id: str):
    script, body = scripts.edit(script_id, current_owner(), parse(ScriptPatch, json_body()))
    return scripts.view(script, body)


@bp.delete("/<script_id>")
@documented("Delete a script (its videos stay)", {204: Empty()}, errors={404: "SCRIPT_NOT_FOUND"})
def delete_script(script_id: str):
    scripts.delete(script_id, current_owner())
    return "", 204


@bp.post("/<script_id>/render")
@documented(
    "Render a script version: an ordinary job",
    {202: RenderAccepted},
    request=RenderRequest,
    errors={
        400: "VALIDATION_ERROR, UPSTREAM_NOT_CONFIGURED, WEBHOOK_URL_NOT_ALLOWED",
        404: "SCRIPT_NOT_FOUND, VERSION_NOT_FOUND",
        429: "QUEUE_FULL, RATE_LIMITED",
    },
)
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def render_script(script_id: str):
    """An ordinary job over one version of the script: contract 1's answer, same progress."""
    body = json_body()
    version = body.pop("version", None)
    if version is not None and (type(version) is not int or version < 1):
        raise APIError(400, "VALIDATION_ERROR", "version must be a whole number ≥ 1.",
                       field="version")  # fmt: skip
    unknown = sorted(set(body) - scripts.RENDER_OPTIONS)
    if unknown:
        raise APIError(
            400, "VALIDATION_ERROR",
            f"{unknown[0]} is not a render option; the script decides its words and scenes. "
            f"Render options: {', '.join(sorted(scripts.RENDER_OPTIONS))}.",
            field=unknown[0],
        )  # fmt: skip
    job = _render(script_id, body, version)
    return {"status": "generating", "job_id": job.id, "script_id": script_id}, 202


def _render(script_id: str, options: dict[str, Any], version: int | None):
    try:
        return scripts.render(script_id, current_owner(), options, version)
    except ValidationError as exc:  # a bad option, named as the client sent it
        raise validation_error(exc) from None
