"""The voice catalogue: stable ids the API exposes, each mapped to one engine and its settings.

Every id must sound different (engine, variant, rate or pitch), so a user who picks another
voice always hears a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_VOICE_ID = "male_narrator_deep"


@dataclass(frozen=True)
class Voice:
    """One selectable narrator; `params` are passed straight to its engine's provider."""

    id: str
    name: str
    engine: str
    """"piper" (neural, packaged joe voice or a user .onnx via params["model_path"]) or "espeak"."""
    language: str
    gender: str
    style: str
    params: dict[str, Any] = field(default_factory=dict)


def _piper(vid: str, name: str, style: str, **params: Any) -> Voice:
    """A voice on the packaged US male Piper model (model_path None = packaged joe)."""
    return Voice(vid, name, "piper", "en-US", "male", style, params)


def _espeak(vid: str, name: str, gender: str, style: str, **params: Any) -> Voice:
    """A voice on espeak-ng; params are voice (name+variant), rate (wpm), pitch and range."""
    language = "en-US" if params["voice"].startswith("en-us") else "en"
    return Voice(vid, name, "espeak", language, gender, style, params)


REMOTE_VOICES = (
    ("alloy", "neutral", "balanced"),
    ("echo", "male", "warm"),
    ("fable", "male", "storyteller"),
    ("onyx", "male", "deep"),
    ("nova", "female", "bright"),
    ("shimmer", "female", "soft"),
)
"""OpenAI-compatible speech voices; usable once SORA_TTS_BASE_URL is configured."""

VOICES: dict[str, Voice] = {
    v.id: v
    for v in (
        _piper(
            "male_narrator_deep",
            "Deep Narrator",
            "slow, deliberate storytelling",
            length_scale=1.12,
            noise_scale=0.6,
            noise_w_scale=0.7,
        ),
        _piper("male_narrator", "Narrator", "natural, even documentary read", length_scale=1.0),
        _piper(
            "male_narrator_energetic",
            "Energetic Narrator",
            "fast, punchy delivery",
            length_scale=0.8,
            noise_scale=0.75,
            noise_w_scale=0.9,
        ),
        _espeak(
            "female_narrator_warm",
            "Warm Female (synthetic)",
            "female",
            "calm, lower female voice",
            voice="en-us+f2",
            rate=155,
            pitch=42,
            range=40,
        ),
        _espeak(
            "female_narrator_bright",
            "Bright Female (synthetic)",
            "female",
            "lively, higher female voice",
            voice="en+f4",
            rate=200,
            pitch=80,
            range=80,
        ),
        _espeak(
            "male_narrator_robotic",
            "Robot",
            "male",
            "deliberately robotic",
            voice="en-us+robosoft",
            rate=160,
            pitch=35,
            range=10,
        ),
        _espeak(
            "espeak_male",
            "Basic Male (espeak)",
            "male",
            "plain, fast fallback voice",
            voice="en-us+m3",
            rate=175,
            pitch=45,
            range=50,
        ),
        _espeak(
            "espeak_female",
            "Basic Female (espeak)",
            "female",
            "plain, fast fallback voice",
            voice="en-us+f3",
            rate=175,
            pitch=60,
            range=50,
        ),
        *(
            Voice(
                f"api_{name}",
                f"{name.title()} (speech API)",
                "remote",
                "en",
                gender,
                style,
                {"voice": name},
            )
            for name, gender, style in REMOTE_VOICES
        ),
    )
}


def get_voice(voice_id: str) -> Voice:
    """Look a voice up by id; raises KeyError so callers choose their own error code."""
    return VOICES[voice_id]


def list_voices() -> list[Voice]:
    """All voices, default first, for the API's voice picker."""
    default = VOICES[DEFAULT_VOICE_ID]
    return [default, *(v for v in VOICES.values() if v.id != DEFAULT_VOICE_ID)]


def voice_to_dict(voice: Voice) -> dict[str, Any]:
    """JSON-safe description for the API; engine params stay internal except the engine name."""
    return {
        "id": voice.id,
        "name": voice.name,
        "engine": voice.engine,
        "language": voice.language,
        "gender": voice.gender,
        "style": voice.style,
        "default": voice.id == DEFAULT_VOICE_ID,
    }
