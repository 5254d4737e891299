"""Each voice's measured speaking rate, so the script is sized for the voice that reads it.

Voices differ by a quarter or more (espeak variants, Piper length scales), so one fixed
words-per-minute figure makes every video too long or too short. A voice is measured once by
speaking a fixed passage, and the result is cached on disk under a key that changes with
anything that changes the rate: voice params, engine build, model file, passage, trimming.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sora_app.pipeline.speech import (
    TRIM_KEEP,
    TRIM_LEVEL,
    Speaker,
    engine_identity,
    speaker_for,
    trim,
)
from sora_app.pipeline.types import StageError
from sora_app.pipeline.voice_catalog import find_voice
from sora_app.pipeline.voices import Voice

log = logging.getLogger(__name__)

CALIBRATION_SENTENCES: tuple[str, ...] = (
    "Nobody could explain why the old lighthouse kept its lamp burning after the keeper vanished.",
    "The harbour town had quiet rules, and everyone followed them.",
    "Then a letter arrived with no name and no return address.",
    "Mara read it twice, folded it slowly, and walked down to the rocks as the tide turned.",
    "Something had been moved after the fact.",
    "A witness remembered the coat but not the face.",
    "By midnight the fog had swallowed the pier, while the bell on the point rang once, "
    "then stopped.",
    "She finally understood how every piece fit together.",
    "The case was closed, at least on paper.",
)
"""A fixed passage in the offline writer's register: short and long sentences, plain words."""
CALIBRATION_VERSION = 2
"""Bump when the measurement itself changes, so cached rates are measured again."""
DEFAULT_WORDS_PER_SECOND = 2.5
"""For voices that are not measured (hosted speech APIs): about 150 words a minute."""


@dataclass(frozen=True)
class SpeakingRate:
    """How fast a voice speaks, counting speech only (pauses are planned separately)."""

    voice_id: str
    words_per_second: float
    measured: bool
    """False when the rate is a default guess (a hosted voice we do not pay to measure)."""

    @property
    def words_per_minute(self) -> float:
        return self.words_per_second * 60


def cache_key(voice: Voice) -> str:
    """A digest of everything that decides the measured rate."""
    inputs = {
        "voice": voice.id,
        "engine": voice.engine,
        "params": voice.params,
        "identity": engine_identity(voice),
        "passage": CALIBRATION_SENTENCES,
        "trim": [TRIM_LEVEL, TRIM_KEEP],
        "version": CALIBRATION_VERSION,
    }
    blob = json.dumps(inputs, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def cache_path(cache_dir: Path, voice: Voice) -> Path:
    """One small JSON file per voice and key; a stale key simply stops being read."""
    return Path(cache_dir) / f"{voice.id}-{cache_key(voice)[:20]}.json"


def measure(speak: Speaker) -> float:
    """Speak the passage sentence by sentence, trimmed like narration; return words/second.

    The quiet margins trimming leaves on every sentence are not counted: they are a cost
    per sentence (see story_writer), not per word, and short sentences would skew the rate.
    """
    seconds = 0.0
    for sentence in CALIBRATION_SENTENCES:
        audio, rate = speak(sentence)[:2]
        seconds += max(0.0, len(trim(audio, rate)) / rate - 2 * TRIM_KEEP)
    words = sum(len(s.split()) for s in CALIBRATION_SENTENCES)
    if seconds <= 0:
        raise StageError("TTS_FAILED", "The voice produced no audio for its calibration passage")
    return words / seconds


def _read(path: Path, key: str) -> float | None:
    """A cached rate, or None when missing, unreadable or for another key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("words_per_second") if isinstance(data, dict) else None
    ok = data.get("key") == key and isinstance(value, int | float) and value > 0
    return float(value) if ok else None


def _write(path: Path, data: dict) -> None:
    """Write then rename: two jobs calibrating at once both write a whole, equal file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, path)


def speaking_rate(
    voice_id: str,
    cache_dir: Path | None,
    speak: Speaker | None = None,
    voices_dir: Path | None = None,
) -> SpeakingRate:
    """The voice's rate from the cache, or measured now (about a second for Piper) and cached.

    Hosted voices get a default instead: measuring would cost a paid request per voice, and
    the narration stage fits the final length to the measured audio anyway.
    """
    try:
        voice = find_voice(voice_id, voices_dir)
    except KeyError:
        raise StageError("UNKNOWN_VOICE", f"Unknown voice {voice_id!r}") from None
    if voice.engine == "remote":
        return SpeakingRate(voice_id, DEFAULT_WORDS_PER_SECOND, measured=False)
    key = cache_key(voice)
    path = cache_path(cache_dir, voice) if cache_dir is not None else None
    cached = _read(path, key) if path is not None else None
    if cached is not None:
        return SpeakingRate(voice_id, cached, measured=True)
    began = time.perf_counter()
    wps = measure(speak or speaker_for(voice))
    if path is not None:
        _write(path, {"voice_id": voice_id, "key": key, "words_per_second": wps})
    log.info(
        "event=voice_calibrated voice=%s words_per_second=%.3f cached=%s ms=%d",
        voice_id, wps, path is not None, (time.perf_counter() - began) * 1000,
    )  # fmt: skip
    return SpeakingRate(voice_id, wps, measured=True)
