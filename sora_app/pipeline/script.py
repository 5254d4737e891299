"""Offline story writer: turns a StoryRequest into a Script with templates, no network or model.

Randomness is seeded from (seed, topic) with a stable hash, so a request always yields the
same script and resumed jobs regenerate identical text. Length is budgeted in seconds of the
narrating voice (its measured words per minute plus the pauses narration will add), counted
in word-equivalents: a sentence costs its words plus its pause at that rate.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re

from sora_app.pipeline.fit import SCENE_GAP, SENTENCE_GAP
from sora_app.pipeline.story_data import GENRES, Genre
from sora_app.pipeline.story_text import clean, finish, paraphrase, title_case, topic_nouns
from sora_app.pipeline.story_writer import WORDS_PER_MINUTE, SceneDraft, Sentence, Writer
from sora_app.pipeline.types import Scene, Script, StoryRequest

log = logging.getLogger(__name__)

STORY_TYPES: tuple[str, ...] = (
    "scary_horror", "mystery", "true_crime", "fantasy", "sci_fi", "motivational",
    "educational", "comedy", "adventure", "romance", "history",
)  # fmt: skip
HOOK_INTENSITIES: tuple[str, ...] = ("low", "medium", "high", "extreme")
PACINGS: tuple[str, ...] = ("slow", "moderate", "dynamic", "fast")
PLATFORMS: tuple[str, ...] = ("tiktok", "reels", "shorts", "youtube")
SHORT_FORM: frozenset[str] = frozenset({"tiktok", "reels", "shorts"})
"""Vertical feeds a viewer scrolls past: a stronger hook and a faster read by default."""
OVERSHOOT_WEIGHT = 2.0
"""Running long costs twice running short: narration can stretch pauses much further than it
can shorten them, so a script that errs short is the one that can still be fitted."""
MAX_SCENES = 50
MAX_MINUTES = 120.0
"""Far above any sane video length; only guards against runaway sizing (e.g. inf)."""
CLIMAX_WEIGHT = 1.25
__all__ = ["HOOK_INTENSITIES", "PACINGS", "STORY_TYPES", "WORDS_PER_MINUTE", "write_script"]


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


def _plan(req: StoryRequest, genre: Genre, w: Writer) -> tuple[list[list[int]], list[float]]:
    """Map scenes onto arc beats and give each scene a cumulative budget in word-equivalents."""
    n_beats, n_scenes = len(genre.arc), req.num_scenes
    beats = []
    for i in range(n_scenes):
        lo = i * n_beats // n_scenes
        hi = max(lo + 1, (i + 1) * n_beats // n_scenes)
        beats.append(list(range(lo, hi)))
    weights = [max(CLIMAX_WEIGHT if genre.arc[b].climax else 1.0 for b in bs) for bs in beats]
    # Scene changes pause longer than sentences do; the tail is about one such pause too.
    seconds = req.duration_minutes * 60 - n_scenes * (SCENE_GAP - SENTENCE_GAP)
    total, scale, acc = max(0.0, seconds) * w.words_per_second, sum(weights), 0.0
    targets = []
    for weight in weights:
        acc += total * weight / scale
        targets.append(acc)
    return beats, targets


def _add(w: Writer, draft: SceneDraft, result: Sentence | None, beat: int = -1) -> float:
    """Append a sentence to a scene draft; return its cost (0 when none)."""
    if result is None:
        return 0
    draft.sentences.append(result[0])
    draft.nouns.extend(result[1])
    if beat >= 0:
        draft.beat_uses[beat] = draft.beat_uses.get(beat, 0) + 1
    return w.cost(result[0])


def _fill_scene(w: Writer, draft: SceneDraft, start: float, target: float) -> float:
    """Add beat sentences until the running budget reaches the scene's target.

    A scene needs one sentence however small its budget, so its first one is the candidate
    (long line, short line or fragment) that lands nearest the budget.
    """
    used, k, span = start, 0, target - start
    while True:
        remaining = target - used
        done = max(0.0, 1 - remaining / span) if span > 0 else 1.0
        beat = draft.beats[min(len(draft.beats) - 1, int(done * len(draft.beats)))]
        punchy = w.req.pacing in ("fast", "dynamic") and k % 2 == 0 and remaining > 4
        if punchy and w.rng.random() < 0.2:
            used += _add(w, draft, w.from_pool(w.genre.fragments))
        result = w.line(w.genre.arc[beat], w.is_long(k))
        if result is None:
            break
        if w.cost(result[0]) > remaining:
            short = w.line(w.genre.arc[beat], False)
            # Only a tight budget reaches for a fragment: each one can be used once.
            tight = short is None or w.cost(short[0]) > remaining
            fragment = w.from_pool(w.genre.fragments) if tight else None
            result = _closest(w, remaining, result, short, fragment, must=not draft.sentences)
            if result is None:
                break
        used += _add(w, draft, result, beat)
        k += 1
    return used


def _miss(remaining: float, cost: float) -> float:
    """How bad it is to spend `cost` out of `remaining`: overshoot weighs double."""
    over = cost - remaining
    return over * OVERSHOOT_WEIGHT if over > 0 else -over


def _closest(
    w: Writer, remaining: float, *options: Sentence | None, must: bool = False
) -> Sentence | None:
    """Of the candidate sentences (or stopping, None, unless `must`), the best budget fit."""
    best: Sentence | None = None
    best_miss = math.inf if must else max(remaining, 0.0)
    for option in options:
        if option is not None and _miss(remaining, w.cost(option[0])) < best_miss:
            best, best_miss = option, _miss(remaining, w.cost(option[0]))
    return best


def _character_intros(w: Writer, n_scenes: int) -> dict[int, list[tuple[str, str]]]:
    """Decide where each character is introduced: the hero first, the others spread out."""
    intros: dict[int, list[tuple[str, str]]] = {}
    chars = [(c.name, c.description) for c in w.req.characters] or [(w.hero, "")]
    for j, (name, desc) in enumerate(chars):
        detail = paraphrase(desc) if desc else ""
        who = f"{name}, {detail}," if detail else name
        scene = min(n_scenes - 1, j * n_scenes // len(chars))
        intros.setdefault(scene, []).append((name, who))
    return intros


def _hook(w: Writer, budget: float) -> str:
    """The opening line; when it alone would overrun scene 0's budget, one that fits it
    (seeded choice among those that do, else the shortest)."""
    pool = w.genre.hooks[w.req.hook_intensity]
    hook = finish(w.fill(w.rng.choice(pool))[0])
    if w.cost(hook) <= budget:
        return hook
    options = [finish(w.fill(template)[0]) for template in pool]
    fitting = [h for h in options if w.cost(h) <= budget]
    return w.rng.choice(fitting) if fitting else min(options, key=w.cost)


def _draft_scenes(
    w: Writer, hook: str, beats: list[list[int]], targets: list[float]
) -> list[SceneDraft]:
    """Write all scene sentences in order, keeping a running budget total across scenes."""
    intros = _character_intros(w, len(beats))
    drafts: list[SceneDraft] = []
    used, met = 0.0, []
    for i, (bs, target) in enumerate(zip(beats, targets, strict=True)):
        draft = SceneDraft(beats=bs)
        if i == 0:
            used += _add(w, draft, (hook, []))
        for name in met:
            if name != w.hero and w.rng.random() < 0.4 and target - used > 6:
                used += _add(w, draft, w.from_pool(w.genre.cameos, name=name))
        for name, who in intros.get(i, []):
            intro = w.from_pool(w.genre.intros, who=who) or (finish(who), [])
            # The request's own characters are always introduced; an invented hero only
            # when there is time for it.
            left = target - used
            if w.req.characters or _miss(left, w.cost(intro[0])) < max(left, 0.0):
                used += _add(w, draft, intro)
            met.append(name)
        used = _fill_scene(w, draft, used, target)
        drafts.append(draft)
    return drafts


def _to_scene(w: Writer, index: int, draft: SceneDraft, topic: list[str]) -> Scene:
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
    """Write a genre-voiced script sized to the requested duration and scene count.

    The size assumes the voice's rate in `req.words_per_minute` (WORDS_PER_MINUTE when
    unset); narration then fits the spoken result to the exact length.
    """
    _validate(req)
    genre = GENRES[req.story_type]
    w = Writer(req, genre, random.Random(_stable_seed(req.seed, req.topic)))
    beats, targets = _plan(req, genre, w)
    hook = _hook(w, targets[0])
    w.used.add(hook)
    drafts = _draft_scenes(w, hook, beats, targets)
    nouns = topic_nouns(clean(req.topic))
    scenes = [_to_scene(w, i, d, nouns) for i, d in enumerate(drafts)]
    title = title_case(clean(req.topic).rstrip("."))
    log.debug("wrote %s script %r: %d scenes", req.story_type, title, len(scenes))
    return Script(title=title, story_type=req.story_type, scenes=scenes, hook=hook)
