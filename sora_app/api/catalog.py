"""Lists what a request may choose (voices, styles, genres), so clients need not hard-code it."""

from __future__ import annotations

from flask import Blueprint

from ..jobs.spec import DURATION_MINUTES, IMAGE_MODES
from ..pipeline.images import ASPECTS, IMAGE_STYLES
from ..pipeline.music import MOOD_NAMES, STORY_MOODS, VOLUME_DB
from ..pipeline.script import HOOK_INTENSITIES, PACINGS, STORY_TYPES
from ..pipeline.subtitles import word_captions_default
from ..pipeline.voices import DEFAULT_VOICE_ID, list_voices, voice_to_dict

bp = Blueprint("catalog", __name__, url_prefix="/api")


@bp.get("/voices")
def list_voices_view():
    return {"voices": [voice_to_dict(v) for v in list_voices()], "default": DEFAULT_VOICE_ID}


@bp.get("/options")
def list_options():
    return {
        "story_type": list(STORY_TYPES),
        "image_style": list(IMAGE_STYLES),
        "image_mode": list(IMAGE_MODES),
        "hook_intensity": list(HOOK_INTENSITIES),
        "pacing": list(PACINGS),
        "aspect_ratio": list(ASPECTS),
        "voice_id": [v.id for v in list_voices()],
        "duration_minutes": {"min": DURATION_MINUTES[0], "max": DURATION_MINUTES[1]},
        "num_scenes": {"min": 1, "max": 50},
        "music_mood": list(MOOD_NAMES),
        "music_mood_by_story_type": dict(STORY_MOODS),
        "music_volume": {"min": VOLUME_DB[0], "max": VOLUME_DB[1], "default": 0.0, "unit": "dB"},
        "word_captions": {
            "type": "boolean",
            "default_by_aspect_ratio": {a: word_captions_default(*wh) for a, wh in ASPECTS.items()},
        },
    }
