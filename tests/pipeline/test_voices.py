"""The voice catalogue's contract with the API and the narration stage."""

from __future__ import annotations

import json

import pytest

from sora_app.pipeline.voices import (
    DEFAULT_VOICE_ID,
    VOICES,
    get_voice,
    list_voices,
    voice_to_dict,
)

REQUIRED = {
    "male_narrator_deep",
    "male_narrator",
    "male_narrator_energetic",
    "female_narrator_warm",
    "female_narrator_bright",
    "male_narrator_robotic",
    "espeak_male",
    "espeak_female",
}


def test_required_voices_exist_and_default_is_piper() -> None:
    assert set(VOICES) >= REQUIRED
    assert get_voice(DEFAULT_VOICE_ID).engine == "piper"
    assert all(v.id == key for key, v in VOICES.items())


def test_unknown_voice_is_key_error() -> None:
    with pytest.raises(KeyError):
        get_voice("nope")


def test_list_voices_puts_default_first_and_lists_each_once() -> None:
    voices = list_voices()
    assert voices[0].id == DEFAULT_VOICE_ID
    assert sorted(v.id for v in voices) == sorted(VOICES)


def test_every_voice_has_a_distinct_engine_configuration() -> None:
    signatures = {(v.engine, json.dumps(v.params, sort_keys=True)) for v in VOICES.values()}
    assert len(signatures) == len(VOICES)
    for voice in VOICES.values():
        assert voice.engine in {"piper", "espeak", "remote"}
        if voice.engine == "remote":
            assert set(voice.params) == {"voice"}
        if voice.engine == "espeak":
            assert {"voice", "rate", "pitch", "range"} <= set(voice.params)


def test_voice_to_dict_is_json_safe_and_marks_the_default() -> None:
    dicts = [voice_to_dict(v) for v in list_voices()]
    json.dumps(dicts)
    assert [d["id"] for d in dicts if d["default"]] == [DEFAULT_VOICE_ID]
    assert {"id", "name", "engine", "language", "gender", "style"} <= set(dicts[0])
