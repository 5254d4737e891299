"""The voices folder as the pipeline sees it: ids, rescans, and keys that follow the model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from sora_app.pipeline.artefacts import ArtefactStore
from sora_app.pipeline.narration import narrate
from sora_app.pipeline.speech import engine_identity
from sora_app.pipeline.speech_cache import cached_speaker
from sora_app.pipeline.types import Scene, Script, StageError
from sora_app.pipeline.voice_catalog import (
    FOLDER_VOICE_ID,
    all_voices,
    engine_of,
    find_voice,
    folder_voice_id,
    folder_voices,
)
from sora_app.pipeline.voice_rate import speaking_rate
from sora_app.pipeline.voices import DEFAULT_VOICE_ID, VOICES
from sora_app.providers.piper_tts import packaged_model_paths


def linked_voice(folder: Path, stem: str) -> Path:
    """The packaged joe model linked into `folder` under another name, with its config copied."""
    folder.mkdir(parents=True, exist_ok=True)
    model, config = packaged_model_paths()
    (folder / f"{stem}.onnx").symlink_to(model)
    shutil.copyfile(config, folder / f"{stem}.onnx.json")
    return folder / f"{stem}.onnx"


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("en_US-amy-medium", "piper_en_us_amy_medium"),
        ("My Voice (v2)", "piper_my_voice_v2"),
        ("../../etc/passwd", "piper_etc_passwd"),
        ("---", None),
        ("x" * 200, "piper_" + "x" * 58),
    ],
)
def test_file_names_become_plain_ids(stem: str, expected: str | None) -> None:
    made = folder_voice_id(stem)
    assert made == expected
    assert made is None or FOLDER_VOICE_ID.fullmatch(made)


def test_built_in_ids_can_never_clash_with_dropped_in_ones() -> None:
    assert not [v for v in VOICES if FOLDER_VOICE_ID.fullmatch(v)]


def test_a_missing_folder_is_just_the_built_in_catalogue(tmp_path: Path) -> None:
    listed = all_voices(tmp_path / "absent")
    assert listed[0].id == DEFAULT_VOICE_ID
    assert {v.id for v in listed} == set(VOICES) == {v.id for v in all_voices(None)}
    with pytest.raises(KeyError):
        find_voice("piper_absent", tmp_path / "absent")
    with pytest.raises(KeyError):
        find_voice("../x", tmp_path)


def test_the_folder_is_parsed_once_until_its_listing_changes(tmp_path: Path) -> None:
    folder = tmp_path / "voices"
    linked_voice(folder, "first")
    scanned = folder_voices(folder)
    assert list(scanned) == ["piper_first"] and folder_voices(folder) is scanned
    voice = scanned["piper_first"]
    assert (voice.engine, voice.language, engine_of("piper_first")) == ("piper", "en-US", "piper")
    assert voice.params["length_scale"] == 1.0 and voice.params["noise_scale"] == 0.667
    linked_voice(folder, "second")
    assert list(folder_voices(folder)) == ["piper_first", "piper_second"]
    (folder / "second.onnx.json").write_text("{}")  # an edited config is read again
    assert list(folder_voices(folder)) == ["piper_first"]


def test_a_dangling_link_or_unreadable_config_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "voices"
    linked_voice(folder, "good")
    (folder / "gone.onnx").symlink_to(tmp_path / "nowhere.onnx")
    shutil.copyfile(folder / "good.onnx.json", folder / "gone.onnx.json")
    linked_voice(folder, "binary")
    (folder / "binary.onnx.json").unlink()
    (folder / "binary.onnx.json").write_bytes(b"\xff\xfe\x00garbage")
    assert list(folder_voices(folder)) == ["piper_good"]


def test_a_replaced_model_changes_every_key_that_holds_its_sound(tmp_path: Path) -> None:
    folder = tmp_path / "voices"
    model = folder / "mine.onnx"
    folder.mkdir()
    shutil.copyfile(packaged_model_paths()[0], model)
    shutil.copyfile(packaged_model_paths()[1], folder / "mine.onnx.json")
    voice = find_voice("piper_mine", folder)
    before = engine_identity(voice)
    spoken: list[str] = []

    def speak(text: str):
        spoken.append(text)
        return np.ones(100, np.int16), 22050

    store = ArtefactStore(tmp_path / "artefacts")
    for _ in range(2):
        cached_speaker(speak, voice, store)("Hello there.")
    assert spoken == ["Hello there."]
    stamp = model.stat().st_mtime_ns + 10**9
    os.utime(model, ns=(stamp, stamp))
    assert engine_identity(voice) != before
    cached_speaker(speak, voice, store)("Hello there.")
    assert spoken == ["Hello there."] * 2, "a replaced model must be heard anew"


def test_narration_finds_the_dropped_in_voice_in_the_folder_it_is_given(tmp_path: Path) -> None:
    folder = tmp_path / "voices"
    linked_voice(folder, "narrator")
    script = Script("t", "mystery", [Scene(0, "The bell rang once.", "Bell")])
    result = narrate(script, "piper_narrator", tmp_path / "out", lambda f, m: None,
                     voices_dir=folder)  # fmt: skip
    assert result.voice_id == "piper_narrator" and result.duration > 0.5
    with pytest.raises(StageError):  # calibration looks in the folder it is given too
        speaking_rate("piper_narrator", tmp_path / "rates")
    with pytest.raises(StageError) as info:
        narrate(script, "piper_narrator", tmp_path / "out", lambda f, m: None)  # no folder
    assert info.value.code == "UNKNOWN_VOICE"
