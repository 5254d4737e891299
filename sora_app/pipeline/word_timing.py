"""When each word of a sentence starts in its audio, for word-timed captions.

Engines report (character offset, seconds) marks (espeak's WORD events, Piper's phoneme
alignments mapped onto the text); everything here is per *token*: the sentence's
whitespace-separated words as the captions show them. A speech engine that reports nothing
gets an estimate from the audio.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

PAUSE_LEVEL = 330
"""Same ~1 % of full scale that trimming treats as silence (see speech.TRIM_LEVEL)."""
MIN_PAUSE = 0.08
"""A quiet stretch at least this long inside a sentence is a pause between words."""
SNAP = 0.3
"""An estimated word start this close to a pause's end moves onto it."""


def token_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each whitespace-separated token."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def _monotonic(starts: list[float]) -> list[float]:
    """Word starts never go backwards, whatever an engine reported."""
    out: list[float] = []
    for s in starts:
        out.append(max(s, out[-1]) if out else max(0.0, s))
    return out


def _fill(starts: list[float | None], weights: Sequence[int], end: float) -> list[float]:
    """Interpolate tokens the engine skipped (a dash, a lone symbol) by character weight."""
    known = [i for i, s in enumerate(starts) if s is not None]
    if not known:
        return []
    out = list(starts)
    cum = np.concatenate([[0.0], np.cumsum(weights, dtype=np.float64)])
    xs = [cum[i] for i in known] + [cum[-1]]
    ys = [float(starts[i]) for i in known] + [max(end, float(starts[known[-1]]))]
    for i, s in enumerate(out):
        if s is None:
            out[i] = float(np.interp(cum[i], xs, ys)) if i > known[0] else float(ys[0])
    return _monotonic([float(s) for s in out])


def from_char_marks(text: str, marks: Sequence[tuple[int, float]], end: float) -> list[float]:
    """Token starts from (character offset, seconds) marks, e.g. espeak's WORD events.

    A token takes its first mark (a number read as several words has several); `end` is the
    audio length, the limit for interpolated tokens. [] when there are no marks at all.
    A token with no letter or digit (a dash) starts with the next word, so it is never
    highlighted on its own.
    """
    spans = token_spans(text)
    starts: list[float | None] = [None] * len(spans)
    for pos, seconds in marks:
        for i, (a, b) in enumerate(spans):
            if a <= pos < b:
                starts[i] = seconds if starts[i] is None else min(starts[i], seconds)
                break
    filled = _fill(starts, [b - a + 1 for a, b in spans], end)
    for i in range(len(filled) - 2, -1, -1):
        a, b = spans[i]
        if not any(c.isalnum() for c in text[a:b]):
            filled[i] = filled[i + 1]
    return filled


def _pause_ends(audio: np.ndarray, rate: int) -> list[float]:
    """Seconds where speech resumes after at least MIN_PAUSE of quiet."""
    win = max(1, rate // 100)
    frames = len(audio) // win
    if frames == 0:
        return []
    env = np.abs(audio[: frames * win].astype(np.int32)).reshape(frames, win).max(axis=1)
    loud = env > PAUSE_LEVEL
    ends, quiet = [], 0
    for k, is_loud in enumerate(loud):
        if is_loud and quiet * win >= MIN_PAUSE * rate and k > quiet:
            ends.append(k * win / rate)
        quiet = 0 if is_loud else quiet + 1
    return ends


def estimate(text: str, audio: np.ndarray, rate: int) -> list[float]:
    """Token starts for an engine that reports none: a forced alignment needing no model.

    The speech (first to last loud sample) is shared out by characters, then every detected
    pause's end (a comma, a breath) pulls the nearest estimated start onto it: that is where
    a word audibly begins, and it corrects the drift of the estimate after it.
    """
    spans = token_spans(text)
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > PAUSE_LEVEL)
    if not spans or loud.size == 0:
        return []
    first, last = loud[0] / rate, (loud[-1] + 1) / rate
    weights = np.array([b - a + 1 for a, b in spans], dtype=np.float64)
    starts = first + (last - first) * (np.cumsum(weights) - weights) / weights.sum()
    for pause_end in _pause_ends(audio, rate):
        k = int(np.argmin(np.abs(starts - pause_end)))
        if k > 0 and abs(starts[k] - pause_end) <= SNAP:
            shift = pause_end - starts[k]
            starts[k:] += shift * np.linspace(1.0, 0.0, len(starts) - k)
    return _monotonic(starts.tolist())


def shifted(starts: Sequence[float], offset: float, tempo: float, length: float) -> list[float]:
    """Follow trimming (`offset` seconds cut from the front) and a tempo change."""
    return [min(max(0.0, (s - offset) / tempo), length) for s in starts]
