"""Offline story writer: turns a StoryRequest into a Script with templates, no network or model.

Randomness is seeded from (seed, topic) with a stable hash, so a request always yields the
same script and resumed jobs regenerate identical text.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sora_app.pipeline.story_data import GENRES, JOINERS, Beat, Genre
from sora_app.pipeline.story_text import clean, finish, paraphrase, subject, title_case, topic_nouns
from sora_app.pipeline.types import Scene, Script, StoryRequest

Sentence = tuple[str, list[str]]
"""A finished sentence and the genre nouns it mentions."""
_Made = tuple[str, list[str], list[str]]
"""A sentence, its nouns and the templates it came from."""

log = logging.getLogger(__name__)

STORY_TYPES: tuple[str, ...] = (
    "scary_horror", "mystery", "true_crime", "fantasy", "sci_fi", "motivational",
    "educational", "comedy", "adventure", "romance", "history",
)  # fmt: skip
HOOK_INTENSITIES: tuple[str, ...] = ("low", "medium", "high", "extreme")
PACINGS: tuple[str, ...] = ("slow", "moderate", "dynamic", "fast")
WORDS_PER_MINUTE = 150
MAX_SCENES = 50
MAX_MINUTES = 120.0
"""Far above any sane video length; only guards against runaway sizing (e.g. inf)."""
CLIMAX_WEIGHT = 1.25
_RETRIES = 24


def _stable_seed(seed: int, topic: str) -> int:
    """Python's hash() is salted per process, so derive the RNG seed from sha256 instead."""
    digest = hashlib.sha256(f"{seed}\x00{topic}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _validate(req: StoryRequest) -> None:
    """Reject values the API layer should already have refused, with a clear message."""
    if not req.topic or not req.topic.strip():
        raise ValueError("topic must not be empty")
    for name, value, allowed in (
        ("story_type", req.story_type, STORY_TYPES),
        ("hook_intensity", req.hook_intensity, HOOK_INTENSITIES),
        ("pacing", req.pacing, PACINGS),
    ):
        if value not in allowed:
            raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(allowed)}")
    if not 1 <= req.num_scenes <= MAX_SCENES:
        raise ValueError(f"num_scenes must be between 1 and {MAX_SCENES}")
    if not 0 < req.duration_minutes <= MAX_MINUTES:
        raise ValueError(f"duration_minutes must be in (0, {MAX_MINUTES:g}]")


@dataclass
class _SceneDraft:
    """Sentences of one scene plus what the caption, keywords and mood are derived from."""

    beats: list[int]
    sentences: list[str] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    beat_uses: dict[int, int] = field(default_factory=dict)


class _Writer:
    """Fills genre templates with seeded choices and never repeats a sentence."""

    def __init__(self, req: StoryRequest, genre: Genre, rng: random.Random) -> None:
        self.req, self.genre, self.rng = req, genre, rng
        self.subject = subject(clean(req.topic))
        names = [c.name for c in req.characters]
        self.hero = names[0] if names else rng.choice(genre.names)
        self.used: set[str] = set()
        self.uses: Counter[str] = Counter()

    def fill(self, template: str, **extra: str) -> tuple[str, list[str]]:
        """Format one template; report which genre nouns it used, for keywords."""
        noun, noun2 = self.rng.sample(self.genre.nouns, 2)
        values = {
            "hero": self.hero, "subject": self.subject, "noun": noun, "noun2": noun2,
            "adj": self.rng.choice(self.genre.adjectives),
            "place": self.rng.choice(self.genre.places), **extra,
        }  # fmt: skip
        used = [n for key, n in (("{noun}", noun), ("{noun2}", noun2)) if key in template]
        return template.format(**values), used

    def pick(self, pool: tuple[str, ...], k: int = 1) -> list[str]:
        """Prefer the least-used templates so one sentence pattern does not keep recurring."""
        return sorted(pool, key=lambda t: (self.uses[t], self.rng.random()))[:k]

    def unique(self, make: Callable[[], _Made]) -> Sentence | None:
        """Retry a sentence maker until it yields text not yet used in this script."""
        for _ in range(_RETRIES):
            text, nouns, templates = make()
            if text not in self.used:
                self.used.add(text)
                self.uses.update(templates)
                return text, nouns
        return None

    def line(self, beat: Beat, long: bool) -> Sentence | None:
        """One narration sentence for a beat: a single clause, or two joined when long."""

        def make() -> _Made:
            first, second = self.pick(beat.lines, 2)
            if not long:
                a, b = (*self.fill(first), [first]), (*self.fill(second), [second])
                return min(a, b, key=lambda t: len(t[0].split()))
            text, nouns = self.fill(first)
            if self.rng.random() < 0.3:
                return f"{text}, {self.rng.choice(self.genre.tails)}", nouns, [first]
            more, nouns2 = self.fill(second)
            return text + self.rng.choice(JOINERS) + more, nouns + nouns2, [first, second]

        # Long stories can exhaust the short forms; joined clauses have far more variety.
        found = self.unique(lambda: _finished(make()))
        return found or (None if long else self.line(beat, True))

    def from_pool(self, pool: tuple[str, ...], **extra: str) -> Sentence | None:
        """A unique sentence from an intro, cameo or fragment pool."""

        def make() -> _Made:
            template = self.pick(pool)[0]
            return (*self.fill(template, **extra), [template])

        return self.unique(lambda: _finished(make()))

    def is_long(self, k: int) -> bool:
        """Pacing decides whether the k-th sentence of a scene flows long or lands short."""
        if self.req.pacing == "slow":
            return True
        if self.req.pacing == "dynamic":
            return k % 2 == 1
        return self.req.pacing == "moderate" and self.rng.random() < 0.4


def _finished(made: _Made) -> _Made:
    """Turn a made clause into a finished sentence, keeping its bookkeeping."""
    return finish(made[0]), made[1], made[2]


def _plan(req: StoryRequest, genre: Genre) -> tuple[list[list[int]], list[float]]:
    """Map scenes onto arc beats and give each scene a cumulative word target."""
    n_beats, n_scenes = len(genre.arc), req.num_scenes
    beats = []
    for i in range(n_scenes):
        lo = i * n_beats // n_scenes
        hi = max(lo + 1, (i + 1) * n_beats // n_scenes)
        beats.append(list(range(lo, hi)))
    weights = [max(CLIMAX_WEIGHT if genre.arc[b].climax else 1.0 for b in bs) for bs in beats]
    total, scale, acc = req.duration_minutes * WORDS_PER_MINUTE, sum(weights), 0.0
    targets = []
    for w in weights:
        acc += total * w / scale
        targets.append(acc)
    return beats, targets


def _add(draft: _SceneDraft, result: Sentence | None, beat: int = -1) -> int:
    """Append a sentence to a scene draft; return its word count (0 when none)."""
    if result is None:
        return 0
    draft.sentences.append(result[0])
    draft.nouns.extend(result[1])
    if beat >= 0:
        draft.beat_uses[beat] = draft.beat_uses.get(beat, 0) + 1
    return len(result[0].split())


def _fill_scene(w: _Writer, draft: _SceneDraft, start: int, target: float) -> int:
    """Add beat sentences until the running word total reaches the scene's target."""
    words, k, span = start, 0, target - start
    while True:
        remaining = target - words
        done = max(0.0, 1 - remaining / span) if span > 0 else 1.0
        beat = draft.beats[min(len(draft.beats) - 1, int(done * len(draft.beats)))]
        punchy = w.req.pacing in ("fast", "dynamic") and k % 2 == 0 and remaining > 4
        if punchy and w.rng.random() < 0.2:
            words += _add(draft, w.from_pool(w.genre.fragments))
        result = w.line(w.genre.arc[beat], w.is_long(k))
        if result is None:
            break
        if draft.sentences and len(result[0].split()) > remaining:
            result = _closest(remaining, result, w.line(w.genre.arc[beat], False))
            if result is None:
                break
        words += _add(draft, result, beat)
        k += 1
    return words


def _closest(remaining: float, *options: Sentence | None) -> Sentence | None:
    """Of the candidate sentences (or stopping, None), pick what lands nearest the target."""
    best, best_gap = None, remaining
    for option in options:
        if option is not None and abs(remaining - len(option[0].split())) < best_gap:
            best, best_gap = option, abs(remaining - len(option[0].split()))
    return best


def _character_intros(w: _Writer, n_scenes: int) -> dict[int, list[tuple[str, str]]]:
    """Decide where each character is introduced: the hero first, the others spread out."""
    intros: dict[int, list[tuple[str, str]]] = {}
    chars = [(c.name, c.description) for c in w.req.characters] or [(w.hero, "")]
    for j, (name, desc) in enumerate(chars):
        detail = paraphrase(desc) if desc else ""
        who = f"{name}, {detail}," if detail else name
        scene = min(n_scenes - 1, j * n_scenes // len(chars))
        intros.setdefault(scene, []).append((name, who))
    return intros


def _draft_scenes(w: _Writer, hook: str) -> list[_SceneDraft]:
    """Write all scene sentences in order, keeping a running word total across scenes."""
    beats, targets = _plan(w.req, w.genre)
    intros = _character_intros(w, len(beats))
    drafts, words, met = [], 0, []
    for i, (bs, target) in enumerate(zip(beats, targets, strict=True)):
        draft = _SceneDraft(beats=bs)
        if i == 0:
            words += _add(draft, (hook, []))
        for name in met:
            if name != w.hero and w.rng.random() < 0.4 and target - words > 6:
                words += _add(draft, w.from_pool(w.genre.cameos, name=name))
        for name, who in intros.get(i, []):
            words += _add(draft, w.from_pool(w.genre.intros, who=who) or (finish(who), []))
            met.append(name)
        words = _fill_scene(w, draft, words, target)
        drafts.append(draft)
    return drafts


def _to_scene(w: _Writer, index: int, draft: _SceneDraft, topic: list[str]) -> Scene:
    """Derive caption, keywords, characters and mood from a drafted scene."""
    narration = " ".join(draft.sentences)
    rank = {b: (n, w.genre.arc[b].climax, b) for b, n in draft.beat_uses.items()}
    main = max(rank, key=rank.__getitem__, default=draft.beats[0])
    beat = w.genre.arc[main]
    noun = next(iter([*draft.nouns, *topic]), None) or w.rng.choice(w.genre.nouns)
    caption = title_case(w.rng.choice(beat.captions).format(
        Noun=noun, Hero=w.hero, Adj=w.rng.choice(w.genre.adjectives)))  # fmt: skip
    if not 2 <= len(caption.split()) <= 5:
        caption = title_case("the " + beat.name.replace("_", " "))
    seen = [n for n in w.genre.nouns if re.search(rf"\b{n}", narration.lower())]
    keywords = list(dict.fromkeys([*topic[:2], *draft.nouns, *topic[2:], *seen]))
    while len(keywords) < 3:
        keywords = list(dict.fromkeys([*keywords, w.rng.choice(w.genre.nouns)]))
    names = [c.name for c in w.req.characters]
    present = [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", narration)]
    return Scene(index=index, narration=narration, caption=caption, keywords=keywords[:6],
                 characters=list(dict.fromkeys(present)), mood=beat.mood)  # fmt: skip


def write_script(req: StoryRequest) -> Script:
    """Write a genre-voiced script sized to the requested duration and scene count."""
    _validate(req)
    genre = GENRES[req.story_type]
    w = _Writer(req, genre, random.Random(_stable_seed(req.seed, req.topic)))
    hook = finish(w.fill(w.rng.choice(genre.hooks[req.hook_intensity]))[0])
    w.used.add(hook)
    drafts = _draft_scenes(w, hook)
    nouns = topic_nouns(clean(req.topic))
    scenes = [_to_scene(w, i, d, nouns) for i, d in enumerate(drafts)]
    title = title_case(clean(req.topic).rstrip("."))
    log.debug("wrote %s script %r: %d scenes", req.story_type, title, len(scenes))
    return Script(title=title, story_type=req.story_type, scenes=scenes, hook=hook)
