"""Scripts as resources (the creator workflow): write or bring one, edit it, render it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import ValidationError

from ..auth import current_owner
from ..content import scripts
from ..content.bodies import ScriptCreate, ScriptPatch
from ..errors import APIError
from ..extensions import limiter
from ..ratelimits import accepted, caller, limit_from
from .validation import int_arg, json_body, parse, validation_error

bp = Blueprint("scripts", __name__, url_prefix="/api/scripts")

RENDER_OPTIONS = frozenset(
    {"voice_id", "image_style", "image_mode", "manual_image_paths", "aspect_ratio", "music",
     "music_mood", "music_volume", "subtitles", "word_captions", "pacing", "seed", "characters"}
)  # fmt: skip
"""What a render may choose; the script itself decides the words and the scenes."""


@bp.post("")
def create_script():
    script, body = scripts.create(parse(ScriptCreate, json_body()), current_owner())
    return scripts.view(script, body), 201


@bp.get("")
def list_scripts():
    page = int_arg("page", 1, 1, 100_000)
    limit = int_arg("limit", 20, 1, 100)
    found, total = scripts.list_for_owner(current_owner(), (page - 1) * limit, limit)
    return {
        "scripts": [script.summary() for script in found],
        "page": page,
        "limit": limit,
        "total": total,
    }


@bp.get("/<script_id>")
def get_script(script_id: str):
    version = int_arg("version", 0, 0, 1_000_000) or None
    script, body = scripts.get(script_id, current_owner(), version)
    return scripts.view(script, body, version)


@bp.patch("/<script_id>")
def edit_script(script_id: str):
    script, body = scripts.edit(script_id, current_owner(), parse(ScriptPatch, json_body()))
    return scripts.view(script, body)


@bp.delete("/<script_id>")
def delete_script(script_id: str):
    scripts.delete(script_id, current_owner())
    return "", 204


@bp.post("/<script_id>/render")
@limiter.limit(limit_from("RATE_LIMIT_SUBMIT"), key_func=caller, deduct_when=accepted)
def render_script(script_id: str):
    """An ordinary job over one version of the script: contract 1's answer, same progress."""
    body = json_body()
    version = body.pop("version", None)
    if version is not None and (type(version) is not int or version < 1):
        raise APIError(400, "VALIDATION_ERROR", "version must be a whole number ≥ 1.",
                       field="version")  # fmt: skip
    unknown = sorted(set(body) - RENDER_OPTIONS)
    if unknown:
        raise APIError(
            400, "VALIDATION_ERROR",
            f"{unknown[0]} is not a render option; the script decides its words and scenes. "
            f"Render options: {', '.join(sorted(RENDER_OPTIONS))}.",
            field=unknown[0],
        )  # fmt: skip
    job = _render(script_id, body, version)
    return {"status": "generating", "job_id": job.id, "script_id": script_id}, 202


def _render(script_id: str, options: dict[str, Any], version: int | None):
    try:
        return scripts.render(script_id, current_owner(), options, version)
    except ValidationError as exc:  # a bad option, named as the client sent it
        raise validation_error(exc) from None
