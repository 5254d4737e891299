"""Fit spoken sentences to the requested length: pauses and tempo within natural limits.

A script can only be sized by estimate (words at the voice's measured rate), and an engine
reads a given text a few percent faster or slower than any estimate. So the narration is
fitted after synthesis, where every sentence's real duration is known: pauses move first,
tempo a little, and a sentence is left out when even the fastest natural read is too long.
The planned length is then exactly the target, which also makes it repeatable: Piper's own
run-to-run timing jitter is absorbed by the pauses.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sora_app.pipeline.ffmpeg import ffmpeg_exe
from sora_app.pipeline.types import StageError

SENTENCE_GAP = 0.2
"""Seconds of silence between sentences of one scene, when no length is requested."""
SCENE_GAP = 0.45
"""Seconds of silence after a scene's last sentence (counted in that scene's span)."""
TAIL = 0.3
"""Seconds of silence after the last sentence, so the video does not end on a cut-off word."""
MIN_GAP, MAX_GAP = 0.15, 1.2
"""Shorter pauses run sentences together; longer ones sound like the narrator stopped."""
MIN_TEMPO, MAX_TEMPO = 0.9, 1.1
"""A pitch-preserving tempo change beyond ±10 % starts to sound processed."""
MAX_CUT = 0.2
"""At most this share of the spoken text is left out to meet a length; cutting more would
rewrite the story (or drop the characters a request asked for), so that is reported."""
TEMPO_STEP = 0.005
TEMPO_COST, PAUSE_COST = 0.05, 0.3
"""A 5 % tempo change is weighed like moving every pause by 0.3 s, when choosing the mix."""
TEMPO_ON = 0.25
"""Any tempo change at all weighs like moving every pause by 0.15 s: pauses are lossless,
so small misses are met by pauses alone and the audio is not processed."""
_SEPARATOR = 0.3
"""Silence put between sentences for one atempo pass, so cuts land far from speech."""


def tolerance(target: float) -> float:
    """How far a produced length may be off: 5 %, and never more than 1.5 s."""
    return min(0.05 * target, 1.5)


@dataclass(frozen=True)
class Fit:
    """Which sentences to speak, how fast, and the silence after each one."""

    keep: list[int]
    tempo: float
    gaps: list[float]
    length: float
    """Planned seconds; equal to the target whenever the target can be met."""
    met: bool = True
    """False when no natural tempo and pauses reach the target (or none was given)."""


def base_gaps(scenes: Sequence[int]) -> list[float]:
    """The unfitted pauses: short inside a scene, longer at a scene change, a tail at the end."""
    gaps = []
    for i, scene in enumerate(scenes):
        if i == len(scenes) - 1:
            gaps.append(TAIL)
        else:
            gaps.append(SCENE_GAP if scenes[i + 1] != scene else SENTENCE_GAP)
    return gaps


def solve_gaps(base: Sequence[float], total: float) -> tuple[list[float], float] | None:
    """Shift every pause by one amount (kept within limits) so they sum to `total`.

    Returns (gaps, shift), or None when even all-shortest or all-longest pauses cannot.
    One shared shift keeps a scene change audibly longer than a pause inside a scene.
    """
    b = np.asarray(base, dtype=np.float64)
    if not len(b) or not len(b) * MIN_GAP - 1e-9 <= total <= len(b) * MAX_GAP + 1e-9:
        return None
    lo, hi = MIN_GAP - b.max(), MAX_GAP - b.min()
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.clip(b + mid, MIN_GAP, MAX_GAP).sum() < total:
            lo = mid
        else:
            hi = mid
    shift = (lo + hi) / 2
    return np.clip(b + shift, MIN_GAP, MAX_GAP).tolist(), shift


def _best_mix(speech: float, base: list[float], target: float) -> tuple[float, list[float]] | None:
    """The tempo and pauses that meet the target with the least audible change, if any do."""
    best: tuple[float, float, list[float]] | None = None
    for k in range(round((MAX_TEMPO - MIN_TEMPO) / TEMPO_STEP) + 1):
        tempo = round(MIN_TEMPO + k * TEMPO_STEP, 6)
        solved = solve_gaps(base, target - speech / tempo)
        if solved is None:
            continue
        cost = ((tempo - 1) / TEMPO_COST) ** 2 + (solved[1] / PAUSE_COST) ** 2
        cost += TEMPO_ON if tempo != 1.0 else 0.0
        if best is None or cost < best[0]:
            best = (cost, tempo, solved[0])
    return None if best is None else (best[1], best[2])


def _droppable(
    keep: list[int], scenes: Sequence[int], budget: float, speech: Sequence[float]
) -> list[int]:
    """Sentences that may go: never the opening line, a scene's only sentence or more than
    the cut budget, and the closing line only when nothing else can."""
    per_scene = Counter(scenes[i] for i in keep)
    options = [i for i in keep[1:] if per_scene[scenes[i]] > 1 and speech[i] <= budget]
    return [i for i in options if i != keep[-1]] or options


def _range(spoken: float, count: int) -> tuple[float, float]:
    """The shortest and longest natural reading of `count` sentences of `spoken` seconds."""
    return spoken / MAX_TEMPO + count * MIN_GAP, spoken / MIN_TEMPO + count * MAX_GAP


def _drop_choice(
    options: list[int], speech: Sequence[float], spoken: float, n: int, target: float
) -> int | None:
    """The shortest sentence whose removal makes the target reachable; else the longest, if
    the rest would still be too long (so another can go next); else None."""
    after = {i: _range(spoken - speech[i], n - 1) for i in options}
    fits = [i for i in options if after[i][0] <= target <= after[i][1]]
    if fits:
        return min(fits, key=lambda i: (speech[i], -i))
    still_long = [i for i in options if after[i][0] > target]
    return max(still_long, key=lambda i: (speech[i], i)) if still_long else None


def plan(speech: Sequence[float], scenes: Sequence[int], target: float | None) -> Fit:
    """Plan the fit of sentences with these durations (seconds) and scene numbers.

    Sentences are left out only when even the fastest natural reading is too long, and
    never more than MAX_CUT of the speech: past that the request is reported instead.
    """
    keep = list(range(len(speech)))
    if target is None:
        gaps = base_gaps(scenes)
        return Fit(keep, 1.0, gaps, sum(speech) + sum(gaps), met=False)
    budget = MAX_CUT * sum(speech)
    while True:
        spoken = sum(speech[i] for i in keep)
        mix = _best_mix(spoken, base_gaps([scenes[i] for i in keep]), target)
        if mix is not None:
            return Fit(keep, mix[0], mix[1], target)
        shortest = _range(spoken, len(keep))[0]
        options = _droppable(keep, scenes, budget, speech) if shortest > target else []
        drop = _drop_choice(options, speech, spoken, len(keep), target) if options else None
        if drop is None:
            tempo, gap = (MIN_TEMPO, MAX_GAP) if shortest < target else (MAX_TEMPO, MIN_GAP)
            length = spoken / tempo + gap * len(keep)
            return Fit(keep, tempo, [gap] * len(keep), length, met=False)
        keep.remove(drop)
        budget -= speech[drop]


def refit_gaps(
    speech: float, scenes: Sequence[int], target: float, fallback: list[float]
) -> list[float]:
    """Pauses for the real (stretched) speech length; the planned ones if it cannot fit."""
    solved = solve_gaps(base_gaps(scenes), target - speech)
    return fallback if solved is None else solved[0]


def _atempo(samples: np.ndarray, rate: int, tempo: float) -> np.ndarray:
    """ffmpeg's atempo (WSOLA-like, pitch kept) over raw mono int16, in and out by pipe."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    args += ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0"]
    args += ["-af", f"atempo={tempo:.6f}", "-f", "s16le", "-ar", str(rate), "-ac", "1", "pipe:1"]
    try:
        done = subprocess.run(
            args, input=samples.astype("<i2").tobytes(), capture_output=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StageError(
            "NARRATION_FAILED", f"Could not change the narration tempo: {exc}"
        ) from exc
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip()[-200:]
        raise StageError("NARRATION_FAILED", f"Could not change the narration tempo: {reason}")
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.int16)


def stretch(pieces: Sequence[np.ndarray], rate: int, tempo: float) -> list[np.ndarray]:
    """Change the tempo of every sentence in one ffmpeg run, then cut them apart again.

    Sentences are joined with silences and each is cut back out at its own scaled position
    and length (exactly len / tempo samples), so lengths stay predictable for the pauses.
    Measured: atempo keeps speech within ~30 ms of the scaled position, inside the margin
    that trimming leaves around every sentence; re-trimming by level instead would add the
    filter's smear (~60 ms a sentence).
    """
    if tempo == 1.0 or not pieces:
        return list(pieces)
    sep = np.zeros(round(_SEPARATOR * rate), dtype=np.int16)
    joined, starts, pos = [], [], 0
    for piece in pieces:
        joined += [piece.astype(np.int16, copy=False), sep]
        starts.append(pos)
        pos += len(piece) + len(sep)
    out = _atempo(np.concatenate(joined), rate, tempo)
    result = []
    for piece, start in zip(pieces, starts, strict=True):
        a, n = round(start / tempo), round(len(piece) / tempo)
        cut = out[a : a + n]
        result.append(np.concatenate([cut, np.zeros(n - len(cut), dtype=np.int16)]))
    return result
