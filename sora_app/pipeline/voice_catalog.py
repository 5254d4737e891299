"""The whole voice catalogue: the built-in voices plus Piper voices dropped into a folder.

An operator adds a voice by copying `<name>.onnx` and its `<name>.onnx.json` (Piper's own
config) into the voices folder; it becomes `piper_<name>`. The folder is parsed again only
when its listing changes (names, sizes, times), so answering a request costs one directory
scan, not a JSON parse and model check per voice. A model without its config, or a config
or model Piper could not load, is left out with a warning: one bad file never takes the
catalogue (or a request for it) down.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from sora_app.pipeline.voices import DEFAULT_VOICE_ID, VOICES, Voice

log = logging.getLogger(__name__)

PREFIX = "piper_"
FOLDER_VOICE_ID = re.compile(r"piper_[a-z0-9_]{1,58}")
"""Ids of dropped-in voices: never a path, never one of the built-in ids (none start so)."""
MODEL_SUFFIX = ".onnx"
CONFIG_SUFFIX = ".onnx.json"

Listing = tuple[tuple[str, int, int], ...]
_lock = threading.Lock()
_scanned: dict[str, tuple[Listing, dict[str, Voice]]] = {}


def folder_voice_id(stem: str) -> str | None:
    """`en_US-amy-medium` -> `piper_en_us_amy_medium`; None when no letter or digit is left."""
    slug = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")[:58].rstrip("_")
    return PREFIX + slug if slug else None


def find_voice(voice_id: str, folder: Path | None) -> Voice:
    """A built-in or dropped-in voice; KeyError so callers choose their own error code."""
    if voice_id in VOICES:
        return VOICES[voice_id]
    if not FOLDER_VOICE_ID.fullmatch(voice_id):
        raise KeyError(voice_id)
    return folder_voices(folder)[voice_id]


def all_voices(folder: Path | None) -> list[Voice]:
    """Every selectable voice: the default first, the built-in ones, then the folder's by id."""
    default = VOICES[DEFAULT_VOICE_ID]
    built_in = [v for v in VOICES.values() if v.id != DEFAULT_VOICE_ID]
    return [default, *built_in, *folder_voices(folder).values()]


def engine_of(voice_id: str) -> str:
    """The engine a voice id uses, without reading any folder (dropped-in voices are Piper)."""
    return VOICES[voice_id].engine if voice_id in VOICES else "piper"


def folder_voices(folder: Path | None) -> dict[str, Voice]:
    """The folder's usable voices by id (sorted), from memory while its listing is unchanged."""
    if folder is None:
        return {}
    listing = _listing(Path(folder))
    key = str(folder)
    with _lock:
        known = _scanned.get(key)
    if known is not None and known[0] == listing:
        return known[1]
    voices = _scan(Path(folder), listing)
    with _lock:
        _scanned[key] = (listing, voices)
    return voices


def _listing(folder: Path) -> Listing:
    """(name, size, mtime) of every model and config: any copy, edit or removal changes it."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return ()
    except OSError as exc:
        log.warning("event=voices_folder_unreadable folder=%s error=%s", folder, exc)
        return ()
    found = []
    for entry in entries:
        if not entry.name.endswith((MODEL_SUFFIX, CONFIG_SUFFIX)):
            continue
        try:
            stat = entry.stat()  # follows a link: an operator may link a model kept elsewhere
        except OSError:
            found.append((entry.name, -1, -1))  # a dangling link: noted, skipped by the scan
            continue
        found.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


def _scan(folder: Path, listing: Listing) -> dict[str, Voice]:
    """Parse every model's config and check the model; warn about and skip the unusable."""
    names = {name for name, _size, _mtime in listing}
    voices: dict[str, Voice] = {}
    for name in sorted(n for n in names if n.endswith(MODEL_SUFFIX)):
        try:
            voice = _usable(folder / name, names, voices)
        except (OSError, ValueError) as exc:
            log.warning("event=voice_skipped folder=%s model=%s reason=%r", folder, name, exc)
            continue
        voices[voice.id] = voice
    log.info("event=voices_folder_scanned folder=%s voices=%d", folder, len(voices))
    return voices


def _usable(model: Path, names: set[str], voices: dict[str, Voice]) -> Voice:
    """The model's voice, or ValueError (OSError when unreadable) saying why it is unusable."""
    voice_id = folder_voice_id(model.name.removesuffix(MODEL_SUFFIX))
    if voice_id is None:
        raise ValueError("its name has no letters or digits to make an id from")
    if voice_id in voices:
        raise ValueError(f"another model already has the id {voice_id}")
    if f"{model.name}.json" not in names:
        raise ValueError(f"no config beside it (expected {model.name}.json)")
    voice = _voice(voice_id, model)  # the config first: it is small and fails most often
    _check_model(model)
    return voice


def _check_model(model: Path) -> None:
    """Parse the model as ONNX (a tenth of a second, once per change of the folder)."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - pinned in requirements; Piper checks on load
        return
    try:
        onnx.checker.check_model(str(model))
    except Exception as exc:  # onnx raises protobuf, checker and OS errors alike
        message = f"not a loadable ONNX model ({type(exc).__name__}: {str(exc)[:200]})"
        raise ValueError(message) from exc


def _voice(voice_id: str, model: Path) -> Voice:
    """The catalogue entry for a model, read through Piper's own config parser."""
    from piper.config import PiperConfig

    config_path = Path(f"{model}.json")
    data = json.loads(config_path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("its config is not a JSON object")
    try:
        config = PiperConfig.from_dict(data)  # fails on what Piper could not load either
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"its config is not a Piper voice config (bad or missing {exc})") from exc
    if config.sample_rate <= 0 or not config.phoneme_id_map:
        raise ValueError("no sample rate or phoneme map")
    stem = model.name.removesuffix(MODEL_SUFFIX)
    speakers = int(config.num_speakers)
    style = f"your own Piper voice, {config.sample_rate} Hz"
    if speakers > 1:
        style += f", speaker {config.default_speaker_id} of {speakers}"
    return Voice(
        id=voice_id,
        name=_display_name(stem),
        engine="piper",
        language=_language(data, config.espeak_voice),
        gender="unknown",
        style=style,
        params={
            "model_path": str(model),
            "config_path": str(config_path),
            "length_scale": float(config.length_scale),
            "noise_scale": float(config.noise_scale),
            "noise_w_scale": float(config.noise_w_scale),
        },
    )


def _language(data: dict[str, Any], espeak_voice: str) -> str:
    """`en_US` in Piper's config (or its espeak voice) as the catalogue's `en-US`."""
    language = data.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    return str(code or espeak_voice or "und").replace("_", "-")


def _display_name(stem: str) -> str:
    """Piper names files `<lang>-<name>-<quality>`: "Amy (medium)"; others keep their name."""
    parts = stem.split("-")
    if len(parts) == 3 and all(parts):
        return f"{parts[1].replace('_', ' ').title()} ({parts[2]})"
    return stem
