"""This server's voices as the API offers them: the catalogue and each voice's spoken sample.

The catalogue is the built-in voices plus the Piper voices in the configured folder
(storage.voices_dir). A sample is made once per voice (and model, and engine build) and then
served from the instance cache, so the route needs no rate limit of its own: the most a
caller can make the server do is speak one short sentence per voice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from ..errors import APIError
from ..jobs import remote, upstreams
from ..pipeline.speech import Speaker, engine_identity, speaker_for
from ..pipeline.types import StageError
from ..pipeline.voice_catalog import all_voices, find_voice
from ..pipeline.voice_preview import voice_preview
from ..pipeline.voices import Voice, voice_to_dict
from ..storage import voice_previews_dir, voices_dir

log = logging.getLogger(__name__)


def catalogue(app: Flask) -> list[Voice]:
    """Every voice a request may choose on this server, the default first."""
    return all_voices(voices_dir(app.config))


def unavailable_reason(app: Flask, voice: Voice) -> str | None:
    """Why a listed voice cannot speak on this server right now (None: it can)."""
    if voice.engine == "remote" and "tts" not in app.config["UPSTREAMS"]:
        return "a hosted voice: this server has no speech API (SORA_TTS_BASE_URL)"
    return None


def listed(app: Flask, voice: Voice) -> dict[str, Any]:
    """A voice as /api/voices shows it: with `available`, and why not when it is not."""
    body = voice_to_dict(voice)
    reason = unavailable_reason(app, voice)
    body["available"] = reason is None
    if reason is not None:
        body["unavailable_reason"] = reason
    return body


def preview(app: Flask, voice_id: str) -> Path:
    """The voice's kept sample (made now on first request), or an APIError saying why not."""
    try:
        voice = find_voice(voice_id, voices_dir(app.config))
    except KeyError:
        raise APIError(
            404, "VOICE_NOT_FOUND", f"No voice {voice_id[:64]!r}; GET /api/voices lists them.",
            field="voice_id",
        ) from None  # fmt: skip
    speak, identity = _speaker(app, voice)
    try:
        return voice_preview(voice, speak, voice_previews_dir(app.config), identity)
    except StageError as exc:
        log.warning("event=voice_preview_failed voice=%s code=%s", voice.id, exc.code)
        status = 502 if voice.engine == "remote" else 503  # the upstream's fault, or ours
        raise APIError(status, exc.code, exc.message, field="voice_id") from exc


def _speaker(app: Flask, voice: Voice) -> tuple[Speaker, dict[str, str]]:
    """The voice's speaker and what decides its sound (for a hosted one: URL and model)."""
    identity = engine_identity(voice)
    if voice.engine != "remote":
        return speaker_for(voice), identity
    tts = app.config["UPSTREAMS"].get("tts")
    if tts is None:
        raise APIError(
            503, "UPSTREAM_NOT_CONFIGURED",
            f"Voice {voice.id} is a hosted voice: this server has no speech API "
            "(SORA_TTS_BASE_URL), so it can neither preview nor narrate with it.",
            field="voice_id",
        )  # fmt: skip
    build = remote.remote_speaker(lambda name: upstreams.client(app, name), app.config)
    return speaker_for(voice, build), {**identity, "upstream": tts.base_url, "model": tts.model}
