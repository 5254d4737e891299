"""Lists what a request may choose (voices, styles, genres), so clients need not hard-code it."""

from __future__ import annotations

from flask import Blueprint, current_app, send_file

from ..content import voices
from ..jobs.spec import DURATION_MINUTES, IMAGE_MODES, JobSpec
from ..pipeline.images import ASPECTS, IMAGE_STYLES
from ..pipeline.music import MOOD_NAMES, STORY_MOODS, VOLUME_DB
from ..pipeline.script import HOOK_INTENSITIES, PACINGS, PLATFORMS, STORY_TYPES
from ..pipeline.subtitles import word_captions_default
from ..pipeline.voice_preview import MIMETYPE
from ..pipeline.voices import DEFAULT_VOICE_ID
from ..response_policy import MEDIA_MAX_AGE
from .docs import Binary, documented
from .schemas.jobs import Options, Voices

bp = Blueprint("catalog", __name__, url_prefix="/api")

DEFAULTED = (
    "story_type", "image_style", "image_mode", "voice_id", "duration", "hook_intensity",
    "pacing", "num_scenes", "aspect_ratio", "music", "subtitles",
)  # fmt: skip
"""Fields whose default a form preselects (read from the request model, never repeated)."""


@bp.get("/voices")
@documented("The voice catalogue", {200: Voices})
def list_voices_view():
    found = voices.catalogue(current_app)
    return {"voices": [voices.listed(current_app, v) for v in found], "default": DEFAULT_VOICE_ID}


@bp.get("/voices/<voice_id>/preview")
@documented(
    "A ~3 s MP3 of the voice",
    {200: Binary(("audio/mpeg",)), 304: Binary(())},
    errors={404: "VOICE_NOT_FOUND", 503: "UPSTREAM_NOT_CONFIGURED"},
    auth="media",
)
def get_voice_preview(voice_id: str):
    """A short sample in the voice (MP3), kept after the first request; ETag and 304 apply."""
    path = voices.preview(current_app, voice_id)
    return send_file(path, mimetype=MIMETYPE, conditional=True, max_age=MEDIA_MAX_AGE)


@bp.get("/options")
@documented("Every value a request may choose", {200: Options})
def list_options():
    return {
        "story_type": list(STORY_TYPES),
        "image_style": list(IMAGE_STYLES),
        "image_mode": list(IMAGE_MODES),
        "hook_intensity": list(HOOK_INTENSITIES),
        "pacing": list(PACINGS),
        "platform": list(PLATFORMS),
        "aspect_ratio": list(ASPECTS),
        "voice_id": [v.id for v in voices.catalogue(current_app)],
        "duration_minutes": {"min": DURATION_MINUTES[0], "max": DURATION_MINUTES[1]},
        "num_scenes": {"min": 1, "max": 50},
        "music_mood": list(MOOD_NAMES),
        "music_mood_by_story_type": dict(STORY_MOODS),
        "music_volume": {"min": VOLUME_DB[0], "max": VOLUME_DB[1], "default": 0.0, "unit": "dB"},
        "word_captions": {
            "type": "boolean",
            "default_by_aspect_ratio": {a: word_captions_default(*wh) for a, wh in ASPECTS.items()},
        },
        "defaults": {name: JobSpec.model_fields[name].default for name in DEFAULTED},
    }
