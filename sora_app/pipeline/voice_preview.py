"""A few seconds of each voice, spoken once and kept: what a voice picker plays.

A sample is keyed by the voice's params, its engine identity (engine build, model file) and
the sample text, so a replaced model or a new engine release is heard anew, while every other
request is a file read: synthesis costs CPU (or a paid request) once per voice, however often
the picker asks. MP3 rather than WAV: a tenth of the size, and every browser's <audio> plays
it (Ogg Opus would be smaller still, but older Safari cannot play it).

Files are encoded under a temporary name and renamed into place, so two first requests at
once never write into the same file and no reader sees half of one; within a process the
second request waits for the first's result instead of speaking the sample again.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
import wave
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from sora_app.pipeline import loudness
from sora_app.pipeline.artefacts import digest
from sora_app.pipeline.ffmpeg import run_ffmpeg
from sora_app.pipeline.speech import Speaker, trim
from sora_app.pipeline.types import StageError
from sora_app.pipeline.voices import Voice

log = logging.getLogger(__name__)

SAMPLE_TEXT = "Hello! This is how I sound when I tell your story."
"""About three seconds in every voice: long enough to judge one, short enough to be cheap."""
FORMAT = 1
"""Bump when the encoding changes, so kept samples are made again."""
SUFFIX = ".mp3"
MIMETYPE = "audio/mpeg"
BITRATE = "64k"

_locks_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def preview_path(folder: Path, voice: Voice, identity: Mapping[str, str]) -> Path:
    """`<voice id>-<key>.mp3`: ids are plain ([a-z0-9_]), so a voice's samples share a prefix."""
    key = digest({"format": FORMAT, "voice": voice.id, "engine": voice.engine,
                  "params": voice.params, "identity": identity, "text": SAMPLE_TEXT})  # fmt: skip
    return Path(folder) / f"{voice.id}-{key[:24]}{SUFFIX}"


def voice_preview(voice: Voice, speak: Speaker, folder: Path, identity: Mapping[str, str]) -> Path:
    """The kept sample of `voice`, spoken with `speak` and encoded on first request."""
    path = preview_path(folder, voice, identity)
    if path.is_file():
        return path
    with _lock_for(path):
        if path.is_file():  # another thread made it while this one waited
            return path
        audio, rate = speak(SAMPLE_TEXT)[:2]
        samples = trim(np.asarray(audio, dtype=np.int16), rate)
        if not np.any(samples):
            raise StageError("TTS_FAILED", f"Voice {voice.id!r} spoke its sample as silence")
        _encode(_normalised(samples, rate), rate, path)
        _remove_older(path, voice)
        log.info("event=voice_preview_made voice=%s file=%s", voice.id, path.name)
    return path


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())


def _normalised(samples: np.ndarray, rate: int) -> np.ndarray:
    """At narration loudness, so switching voices in a picker does not jump in volume."""
    level = loudness.normalize(samples.astype(np.float64) / 32768, rate)
    return np.clip(np.round(level * 32768), -32768, 32767).astype(np.int16)


def _encode(samples: np.ndarray, rate: int, path: Path) -> None:
    """WAV in a temp file, MP3 from ffmpeg under a unique temp name, then one atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    wav_path, mp3_path = path.with_name(f"{stem}.wav"), path.with_name(f"{stem}{SUFFIX}")
    try:
        with wave.open(str(wav_path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(samples.astype("<i2", copy=False).tobytes())
        args = ["-y", "-i", str(wav_path), "-map_metadata", "-1", "-id3v2_version", "0",
                "-ac", "1", "-c:a", "libmp3lame", "-b:a", BITRATE,
                "-f", "mp3", str(mp3_path)]  # fmt: skip
        run_ffmpeg(args, len(samples) / rate, lambda *_: None, lambda: False, "Voice preview")
        os.replace(mp3_path, path)
    finally:
        wav_path.unlink(missing_ok=True)
        mp3_path.unlink(missing_ok=True)


def _remove_older(path: Path, voice: Voice) -> None:
    """Samples of this voice under older keys (a replaced model) will never be asked for."""
    for old in path.parent.glob(f"{voice.id}-*{SUFFIX}"):
        if old != path:
            old.unlink(missing_ok=True)
