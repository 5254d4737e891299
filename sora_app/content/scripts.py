"""The only door to scripts: create (written or given), read, list, edit, delete, render.

Like jobs/service.py, functions take the owner's id; another user's script is reported
exactly like a missing one (404). A render is an ordinary job whose request carries the
script version's body, so every job surface (progress, events, tasks, library) shows it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from ..errors import APIError
from ..extensions import db
from ..jobs import service, upstreams
from ..jobs.script_body import ScriptBody, ScriptRef
from ..jobs.spec import DURATION_MINUTES, MIN_SECONDS_PER_SCENE, UPLOAD_SUFFIXES, JobSpec
from ..jobs.stages import script_pin
from ..jobs.uploads import check_named_media
from ..models import Job, utcnow
from ..pipeline.script import write_script
from ..pipeline.types import Character, StageError, StoryRequest
from ..providers.http import UpstreamClient, UpstreamError
from ..providers.remote_script import write_script_remote
from ..providers.script_stream import SceneFn
from ..storage import storage_for
from .bodies import ScriptCreate, ScriptPatch
from .tables import Script, ScriptVersion

RENDER_OPTIONS = frozenset(
    {"voice_id", "image_style", "image_mode", "manual_image_paths", "aspect_ratio", "music",
     "music_mood", "music_volume", "music_track", "subtitles", "word_captions", "pacing", "seed",
     "characters", "webhook_url", "callback_url"}
)  # fmt: skip
"""What a render may choose; the script itself decides the words and the scenes."""

MAX_ID = 64
SPOKEN_WORDS_PER_MINUTE = 150
"""A narrator's usual pace, for the estimate only."""


class ScriptNotFound(APIError):
    def __init__(self, script_id: str) -> None:
        super().__init__(
            404, "SCRIPT_NOT_FOUND", f"No script with id {script_id[:64]!r}.", field="script_id"
        )


class VersionNotFound(APIError):
    def __init__(self, version: int) -> None:
        super().__init__(
            404, "VERSION_NOT_FOUND", f"The script has no version {version}.", field="version"
        )


class StaleVersion(APIError):
    """An edit based on an older version than the newest: someone else changed it first."""

    def __init__(self, base: int, newest: int) -> None:
        super().__init__(
            409, "VERSION_CONFLICT",
            f"The script changed since version {base}; it is at version {newest}. "
            "Load it again and re-apply your edit.",
            field="base_version", details={"version": newest},
        )  # fmt: skip


def create(
    request: ScriptCreate, owner_id: str, on_scene: SceneFn | None = None
) -> tuple[Script, ScriptBody]:
    """A new script at version 1: written from the topic, or the caller's own."""
    body = request.own_body() if not request.topic else _written(request, on_scene)
    if not request.topic and on_scene is not None:  # the caller's own: nothing to wait for
        for scene in body.to_pipeline().scenes:
            on_scene(scene)
    _check_media(body, owner_id)
    script = Script(owner_id=owner_id, title=body.title, version=1)
    db.session.add(script)
    db.session.flush()
    db.session.add(ScriptVersion(script_id=script.id, version=1, body_json=_dump(body)))
    db.session.commit()
    return script, body


def _check_media(body: ScriptBody, owner_id: str) -> None:
    """A scene may only show a picture of the caller's library (400 naming the scene)."""
    check_named_media(
        [(f"scenes[{i}].media", s.media, UPLOAD_SUFFIXES) for i, s in enumerate(body.scenes)
         if s.media],
        owner_id,
    )  # fmt: skip


def _written(request: ScriptCreate, on_scene: SceneFn | None) -> ScriptBody:
    """The script model's script for the topic (or the offline writer's), sized for the
    duration; `on_scene` hears each scene as it is written."""
    hook, pacing = request.story_style()
    story = StoryRequest(
        topic=request.topic or "",
        story_type=request.story_type,
        hook_intensity=hook,
        pacing=pacing,
        platform=request.platform or "",
        language=request.language,
        duration_minutes=request.duration,
        num_scenes=request.num_scenes,
        characters=tuple(Character(c.name, c.description) for c in request.characters),
        seed=request.seed or 0,
    )
    client = _script_model(request)
    if client is None:
        script = write_script(story)
        for scene in script.scenes:
            if on_scene is not None:
                on_scene(scene)
    else:
        config = current_app.config
        try:
            script = write_script_remote(
                story, client, config["UPSTREAMS"]["llm"].model,
                fallback=bool(config["LLM_FALLBACK"]), on_scene=on_scene,
            )  # fmt: skip
        except UpstreamError as exc:
            raise APIError(exc.status_hint, exc.code, exc.message, details=exc.details) from exc
        except StageError as exc:
            raise APIError(502, exc.code, exc.message) from exc
    body = ScriptBody.from_pipeline(script)
    return body.model_copy(update={"title": request.title}) if request.title else body


def check_writer(request: ScriptCreate) -> None:
    """Refuse (400) what the writer could only fail at, before a stream has begun."""
    if request.topic:
        _script_model(request)


def _script_model(request: ScriptCreate) -> UpstreamClient | None:
    """The configured script model unless the caller asked for the offline writer (400 when
    the request needs a model the server lacks)."""
    source = request.script_source
    client = (
        None if source == "offline" else upstreams.client(current_app._get_current_object(), "llm")
    )
    if client is None and source == "remote":
        raise APIError(400, "UPSTREAM_NOT_CONFIGURED",
                       "script_source remote needs a script model: the server has no "
                       "SORA_LLM_BASE_URL.", field="script_source")  # fmt: skip
    if client is None and request.language.split("-")[0] != "en":
        raise APIError(400, "LANGUAGE_NEEDS_SCRIPT_MODEL",
                       f"The offline writer writes English; language {request.language!r} needs "
                       "the script model (SORA_LLM_BASE_URL).", field="language")  # fmt: skip
    return client


def get(script_id: str, owner_id: str, version: int | None = None) -> tuple[Script, ScriptBody]:
    """The owner's script with the body of `version` (default: the newest)."""
    script = _owned(script_id, owner_id)
    number = script.version if version is None else version
    row = db.session.get(ScriptVersion, (script.id, number))
    if row is None:
        raise VersionNotFound(number)
    return script, ScriptBody.model_validate(row.body)


def list_for_owner(owner_id: str, offset: int, limit: int) -> tuple[list[Script], int]:
    """One page of the owner's scripts, most recently edited first, and how many in all."""
    where = Script.owner_id == owner_id
    total = db.session.scalar(select(func.count()).select_from(Script).where(where)) or 0
    page = db.session.scalars(
        select(Script).where(where).order_by(Script.updated_at.desc(), Script.id.desc())
        .offset(offset).limit(limit)
    )  # fmt: skip
    return list(page), total


def edit(script_id: str, owner_id: str, patch: ScriptPatch) -> tuple[Script, ScriptBody]:
    """A new version with the patch applied; earlier versions stay renderable."""
    script, body = get(script_id, owner_id)
    if patch.base_version is not None and patch.base_version != script.version:
        raise StaleVersion(patch.base_version, script.version)
    changed = patch.apply(body)
    _check_media(changed, owner_id)
    number = script.version + 1
    db.session.add(ScriptVersion(script_id=script.id, version=number, body_json=_dump(changed)))
    script.version, script.title, script.updated_at = number, changed.title, utcnow()
    db.session.commit()
    return script, changed


def delete(script_id: str, owner_id: str) -> None:
    """The script and all its versions; videos already rendered from it stay."""
    script = _owned(script_id, owner_id)
    pin = script_pin(script.id)
    for row in db.session.scalars(
        select(ScriptVersion).where(ScriptVersion.script_id == script.id)
    ):
        db.session.delete(row)
    db.session.delete(script)
    db.session.commit()
    storage_for(current_app.config).artefacts.unpin(pin)  # its pieces may be pruned now


def render(
    script_id: str, owner_id: str, options: dict[str, Any], version: int | None = None
) -> Job:
    """Submit a job that renders this version of the script with the given job options."""
    return service.submit(render_spec(script_id, owner_id, options, version), owner_id)


def render_spec(
    script_id: str, owner_id: str, options: dict[str, Any], version: int | None = None
) -> JobSpec:
    """The job request that renders this version of the script (ValidationError on a bad
    option): what a render submits, and what a batch keeps for later."""
    script, body = get(script_id, owner_id, version)
    number = script.version if version is None else version
    request = {
        "seed": _seed_of(script.id),  # the same motion and music bed each render: reusable
        **options,
        "topic": body.title,
        "story_type": body.story_type,
        "duration": _minutes(body),
        "num_scenes": len(body.scenes),
        "script": body,
        "script_ref": ScriptRef(id=script.id, version=number),
    }
    return JobSpec.model_validate(request)


def view(script: Script, body: ScriptBody, version: int | None = None) -> dict[str, Any]:
    """The JSON a client sees for a script (and one of its versions)."""
    shown = script.summary() | body.model_dump(mode="json")
    shown["version"] = script.version if version is None else version
    shown["latest_version"] = script.version
    shown["scenes"] = [{"index": i, **scene} for i, scene in enumerate(shown["scenes"])]
    return shown


def _minutes(body: ScriptBody) -> float:
    """About how long the script takes to say: what the job's ETA expects (the length itself
    is the narration's), and room for every scene (a job allows a scene per 2 s)."""
    spoken = sum(
        max(len(scene.narration.split()) / SPOKEN_WORDS_PER_MINUTE * 60, scene.duration or 0)
        for scene in body.scenes
    )  # seconds, a scene's own duration counting when it holds the picture longer
    wanted = max(spoken / 60, len(body.scenes) * MIN_SECONDS_PER_SCENE / 60)
    return round(min(DURATION_MINUTES[1], max(DURATION_MINUTES[0], wanted)), 2)


def _seed_of(script_id: str) -> int:
    """A script's own seed: its renders pan, dissolve and score alike unless told otherwise,
    so an edit changes only what it touched (a random seed per job would change it all)."""
    return int(hashlib.sha256(script_id.encode()).hexdigest()[:8], 16) % 2**31


def _owned(script_id: str, owner_id: str) -> Script:
    script = db.session.get(Script, script_id) if 0 < len(script_id) <= MAX_ID else None
    if script is None or script.owner_id != owner_id:
        raise ScriptNotFound(script_id)
    return script


def _dump(body: ScriptBody) -> str:
    return json.dumps(body.model_dump(mode="json"), ensure_ascii=False)
