"""What a job must pass before it is queued: its voice, its upstreams, its files, and room.

Checked at submit (400/507 at once) rather than discovered by the worker minutes later.
"""

from __future__ import annotations

from flask import current_app

from .. import space
from ..errors import APIError, storage_full
from ..extensions import db
from ..models import Job
from ..pipeline.voice_catalog import all_voices, find_voice
from ..pipeline.voices import Voice
from ..storage import voices_dir
from .spec import JobSpec
from .uploads import check_named_media
from .webhook_settings import check_target


def check(spec: JobSpec, owner_id: str) -> None:
    """Every check, cheapest first."""
    check_script_ref(spec, owner_id)
    check_remix_of(spec, owner_id)
    check_named_media(spec.named_media(), owner_id)
    check_upstreams(spec)
    if spec.webhook_url:
        check_target(spec.webhook_url)  # resolves the name: after the local checks
    require_room()


def check_remix_of(spec: JobSpec, owner_id: str) -> None:
    """Only the caller's own upstream videos may be remixed (the id is the gateway's)."""
    if spec.remix_of is None:
        return
    owned = db.session.scalar(
        db.select(Job.id).where(Job.external_video_id == spec.remix_of, Job.owner_id == owner_id)
    )
    if owned is None:
        raise APIError(404, "VIDEO_NOT_FOUND", "No such video to remix.", field="remix_of")


def require_room() -> None:
    """Refuse new work (507) while a media folder is below the threshold /health warns at.

    A job accepted now would only fail later for want of room, and an upload would fill
    the disk the running jobs need.
    """
    low = space.low_media_folders(current_app.config)
    if low:
        raise storage_full(low, int(current_app.config["HEALTH_MIN_FREE_MB"]))


NEEDS = (
    ("engine", "sora", "video", "SORA_VIDEO_API_BASE_URL"),
    ("script_source", "remote", "llm", "SORA_LLM_BASE_URL"),
)


def check_upstreams(spec: JobSpec) -> None:
    """Refuse at once (400) what a configured-off upstream could only fail later."""
    configured = current_app.config["UPSTREAMS"]
    for field, value, upstream, setting in NEEDS:
        if getattr(spec, field) == value and upstream not in configured:
            raise APIError(
                400, "UPSTREAM_NOT_CONFIGURED",
                f"{field} {value} needs an upstream service: the server has no {setting}.",
                field=field,
            )  # fmt: skip
    if check_voice(spec.voice_id).engine == "remote" and "tts" not in configured:
        raise APIError(
            400, "UPSTREAM_NOT_CONFIGURED",
            f"voice {spec.voice_id} needs a speech API: the server has no SORA_TTS_BASE_URL.",
            field="voice_id",
        )  # fmt: skip


def check_voice(voice_id: str) -> Voice:
    """The request's voice from this server's catalogue (built-in or dropped in), or a 400."""
    folder = voices_dir(current_app.config)
    try:
        return find_voice(voice_id, folder)
    except KeyError:
        known = ", ".join(v.id for v in all_voices(folder))
        message = f"must be one of: {known}"
        raise APIError(
            400, "VALIDATION_ERROR", f"voice_id: {message}", field="voice_id",
            details={"errors": [{"field": "voice_id", "message": message, "type": "value_error"}]},
        ) from None  # fmt: skip


def check_script_ref(spec: JobSpec, owner_id: str) -> None:
    """A job may say which stored script version it renders only for the caller's own
    scripts: the library shows it, and the render pins its pieces under that script."""
    ref = spec.script_ref
    if ref is None:
        return
    from ..content.tables import Script  # content builds on jobs, not the other way round

    found = db.session.get(Script, ref.id)
    if found is None or found.owner_id != owner_id or ref.version > found.version:
        raise APIError(
            400, "VALIDATION_ERROR",
            "script_ref must name a version of one of your scripts; render a script with "
            "POST /api/scripts/<id>/render.", field="script_ref",
        )  # fmt: skip
