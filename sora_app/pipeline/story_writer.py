"""The offline writer's sentence maker: seeded template filling that never repeats itself.

Kept apart from script.py, which decides how many sentences each scene gets and which.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sora_app.pipeline.fit import SENTENCE_GAP
from sora_app.pipeline.speech import TRIM_KEEP
from sora_app.pipeline.story_data import JOINERS, Beat, Genre
from sora_app.pipeline.story_text import clean, finish, subject
from sora_app.pipeline.types import StoryRequest

Sentence = tuple[str, list[str]]
"""A finished sentence and the genre nouns it mentions."""
_Made = tuple[str, list[str], list[str]]
"""A sentence, its nouns and the templates it came from."""

WORDS_PER_MINUTE = 150
"""Speech-only rate assumed when the request carries no measured rate for its voice."""
_RETRIES = 24


@dataclass
class SceneDraft:
    """Sentences of one scene plus what the caption, keywords and mood are derived from."""

    beats: list[int]
    sentences: list[str] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    beat_uses: dict[int, int] = field(default_factory=dict)


class Writer:
    """Fills genre templates with seeded choices and never repeats a sentence."""

    def __init__(self, req: StoryRequest, genre: Genre, rng: random.Random) -> None:
        self.req, self.genre, self.rng = req, genre, rng
        self.subject = subject(clean(req.topic))
        names = [c.name for c in req.characters]
        self.hero = names[0] if names else rng.choice(genre.names)
        self.used: set[str] = set()
        self.uses: Counter[str] = Counter()
        self.words_per_second = (req.words_per_minute or WORDS_PER_MINUTE) / 60
        # Every sentence also carries the quiet margins trimming leaves around it.
        self.pause = (SENTENCE_GAP + 2 * TRIM_KEEP) * self.words_per_second

    def cost(self, text: str) -> float:
        """What a sentence takes from the budget: its words plus its pause, in words."""
        return len(text.split()) + self.pause

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
