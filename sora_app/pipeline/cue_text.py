"""Sentence and subtitle-cue text: where narration splits into sentences and cues into lines.

Kept apart from the audio work so the script writer, remote scripts and narration all agree
on what one sentence is.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

from sora_app.pipeline.types import Cue, Word

MAX_CUE_WORDS = 7
MAX_CUE_CHARS = 40

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st prof sr jr mt vs etc e.g i.e fig approx dept gen col lt sgt capt".split()  # noqa: SIM905
)
_WEAK_ENDINGS = frozenset(
    "a an the of to in on at by for and or but with from as that his her its their my your".split()  # noqa: SIM905
)
_SENTENCE_RE = re.compile(r"\S.*?(?:[.!?…]+[\"”’')\]]*(?=\s|$)|$)", re.S)


def split_sentences(text: str) -> list[str]:
    """Split narration into sentences, keeping abbreviations and decimals inside one."""
    text = " ".join(text.split())
    out: list[str] = []
    for match in _SENTENCE_RE.finditer(text):
        piece = match.group(0).strip()
        if not piece:
            continue
        if out and (_ends_with_abbreviation(out[-1]) or _continues(piece)):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return [s for s in out if any(c.isalnum() for c in s)]


def _continues(piece: str) -> bool:
    """True for a fragment that cannot start a sentence: '... she said.' or bare punctuation."""
    first = next((c for c in piece if c.isalnum()), "")
    return not first or first.islower()


def _ends_with_abbreviation(sentence: str) -> bool:
    """True when a full stop belongs to 'Dr.' or an initial like 'J.', not a sentence end."""
    if not sentence.endswith("."):
        return False
    last = sentence.split()[-1].rstrip(".").lower()
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def _fits(words: list[str], max_words: int, max_chars: int) -> bool:
    """A cue fits on screen when it is short in words and characters (or is a single word)."""
    return len(words) == 1 or (len(words) <= max_words and len(" ".join(words)) <= max_chars)


def _break_cost(last_word: str, target: float) -> float:
    """Reward a break after punctuation, penalise one that strands 'the' or 'of' at a line end."""
    if last_word[-1] in ",;:—–-":
        return -(target**2) / 8
    return target**2 / 8 if last_word.lower() in _WEAK_ENDINGS else 0.0


def split_cue_text(
    sentence: str, max_words: int = MAX_CUE_WORDS, max_chars: int = MAX_CUE_CHARS
) -> list[str]:
    """Break a long sentence into balanced subtitle chunks, preferring breaks at punctuation."""
    words = sentence.split()
    if _fits(words, max_words, max_chars):
        return [" ".join(words)]
    total = len(" ".join(words))
    target = total / max(math.ceil(len(words) / max_words), math.ceil(total / max_chars))
    # best[i] = (cost, start of last chunk) for the best split of words[:i]
    best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * len(words)
    for end in range(1, len(words) + 1):
        for start in range(end - 1, -1, -1):
            chunk = words[start:end]
            if not _fits(chunk, max_words, max_chars):
                break
            cost = best[start][0] + (len(" ".join(chunk)) - target) ** 2 + target**2 / 4
            if end < len(words):
                cost += _break_cost(chunk[-1], target)
            if cost < best[end][0]:
                best[end] = (cost, start)
    chunks: list[str] = []
    end = len(words)
    while end > 0:
        start = best[end][1]
        chunks.append(" ".join(words[start:end]))
        end = start
    return chunks[::-1]


def _bounds(chunks: list[str], start: float, end: float) -> list[float]:
    """Chunk boundaries dividing the spoken time by each chunk's character count."""
    total = sum(len(c) for c in chunks)
    acc, out = 0, [start]
    for chunk in chunks:
        acc += len(chunk)
        out.append(start + (end - start) * acc / total)
    return out


def _timed_bounds(
    chunks: list[str], starts: Sequence[float], start: float, end: float
) -> list[float] | None:
    """Chunk boundaries at the first word of each chunk, when they strictly increase."""
    out, k = [start], 0
    for chunk in chunks[:-1]:
        k += len(chunk.split())
        out.append(starts[k])
    out.append(end)
    ok = all(b - a >= 0.01 for a, b in itertools.pairwise(out))
    return out if ok else None


def sentence_cues(
    sentence: str,
    start: float,
    end: float,
    scene: int,
    word_starts: Sequence[float] | None = None,
) -> list[Cue]:
    """Cues for one sentence, split where its words are spoken.

    With `word_starts` (seconds, one per word of sentence.split()) a cue begins with its
    first word and every word carries its timing; without, the sentence's time is divided
    by each chunk's character count.
    """
    chunks = split_cue_text(sentence)
    tokens = sentence.split()
    timed = word_starts is not None and len(word_starts) == len(tokens)
    bounds = (_timed_bounds(chunks, word_starts, start, end) if timed else None) or _bounds(
        chunks, start, end
    )
    ends = [*word_starts[1:], end] if timed else []
    cues: list[Cue] = []
    k = 0
    for chunk, a, b in zip(chunks, bounds, bounds[1:], strict=False):
        words: list[Word] = []
        for token in chunk.split():
            if timed:
                w0 = min(max(word_starts[k], a), b)
                w1 = min(max(ends[k], w0), b)
                words.append(Word(token, _at(w0), _at(w1)))
            k += 1
        cues.append(Cue(_at(a), _at(b), chunk, scene, words))
    return cues


def _at(seconds: float) -> float:
    """Times kept to the microsecond: rounding them coarser (to the millisecond, once) made a
    scene's captions differ by a centisecond wherever the scene started, which a segment
    re-render must not see (pipeline.segments); the captions round to centiseconds anyway."""
    return round(seconds, 6)
