"""Genre moods on real painted frames: horror looks like horror whatever the image style.

Frames come through `make_images`, so the genre travels the production path (the script's
story_type) instead of being handed to the painter by the test. Measures are colour
statistics of the picture area, over a story's scenes, for several seeds and every style.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sora_app.pipeline.images import IMAGE_STYLES, make_images
from sora_app.pipeline.script import STORY_TYPES, write_script
from sora_app.pipeline.types import Character, ImageSpec, StoryRequest

SIZE = {"width": 180, "height": 320}
SEEDS = (1, 2, 3)
TOPIC = "the old lighthouse"
PICTURE = slice(int(SIZE["height"] * 0.22), int(SIZE["height"] * 0.78))
"""Rows between the caption band and the subtitle band: the painted scene itself, without
the style's caption box (a bright yellow comic box would outweigh a dark horror sky)."""


@cache
def _frames(genre: str, style: str, seed: int, root: Path) -> np.ndarray:
    """Every scene of a two-scene story, painted offline and read back as float RGB."""
    script = write_script(StoryRequest(topic=TOPIC, story_type=genre, num_scenes=2, seed=seed))
    out = root / f"{genre}-{style}-{seed}"
    spec = ImageSpec(style=style, seed=seed, **SIZE)
    paths = make_images(script, spec, out, lambda f, m: None)
    frames = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) for p in paths]
    return np.stack(frames)[:, PICTURE]


@pytest.fixture(scope="module")
def paint(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("moods")
    return lambda genre, style, seed: _frames(genre, style, seed, root)


def luma(a: np.ndarray) -> float:
    return float((a @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).mean())


def coolness(a: np.ndarray) -> float:
    """Blue's lead over red as a share of all light, so dark and bright frames compare."""
    r, g, b = (float(a[..., i].mean()) for i in range(3))
    return (b - r) / (r + g + b + 1.0)


def pinkness(a: np.ndarray) -> float:
    """Red over green: rose and magenta score high, cyan and green low."""
    return float((a[..., 0] - a[..., 1]).mean())


def chroma(a: np.ndarray) -> float:
    return float((a.max(axis=-1) - a.min(axis=-1)).mean())


def _mean(paint, metric, genre: str, style: str) -> float:
    return float(np.mean([metric(paint(genre, style, s)) for s in SEEDS]))


@pytest.mark.parametrize("style", IMAGE_STYLES)
def test_horror_is_darker_and_colder_than_comedy(paint, style: str) -> None:
    for seed in SEEDS:
        horror, comedy = paint("scary_horror", style, seed), paint("comedy", style, seed)
        assert luma(horror) < 0.6 * luma(comedy), (style, seed, luma(horror), luma(comedy))
        assert coolness(horror) > coolness(comedy) + 0.01, (style, seed)


@pytest.mark.parametrize("style", IMAGE_STYLES)
def test_romance_is_warmer_and_pinker_than_sci_fi(paint, style: str) -> None:
    for seed in SEEDS:
        romance, scifi = paint("romance", style, seed), paint("sci_fi", style, seed)
        assert coolness(romance) < coolness(scifi) - 0.1, (style, seed)
        assert pinkness(romance) > pinkness(scifi) + 30, (style, seed)


@pytest.mark.parametrize("style", IMAGE_STYLES)
def test_each_genre_leads_on_its_own_measure(paint, style: str) -> None:
    """Sci-fi is the bluest, romance the pinkest, comedy the brightest, horror the darkest."""
    for genre, metric, sign in (
        ("sci_fi", coolness, 1),
        ("romance", pinkness, 1),
        ("comedy", luma, 1),
        ("scary_horror", luma, -1),
    ):
        own = sign * _mean(paint, metric, genre, style)
        for other in STORY_TYPES:
            if other != genre:
                assert own > sign * _mean(paint, metric, other, style), (style, genre, other)


@pytest.mark.parametrize("style", IMAGE_STYLES)
def test_history_is_sepia(paint, style: str) -> None:
    """Warm and muted: redder than blue, and less colourful than the lively genres."""
    history = _mean(paint, chroma, "history", style)
    assert _mean(paint, coolness, "history", style) < -0.03
    for lively in ("comedy", "romance", "motivational", "sci_fi"):
        assert history < _mean(paint, chroma, lively, style), (style, lively)


def histogram(a: np.ndarray) -> np.ndarray:
    """An 8-level-per-channel colour histogram, normalised to sum 1.

    Coarse on purpose: a slight tint (a scene's beat mood) barely moves it, a new palette does.
    Before genre moods the closest genres of a style were 0.03-0.28 apart; now 0.39 or more.
    """
    q = (a // 32).astype(np.int64)
    counts = np.bincount((q[..., 0] * 64 + q[..., 1] * 8 + q[..., 2]).ravel(), minlength=512)
    return counts / counts.sum()


@pytest.mark.parametrize("style", IMAGE_STYLES)
def test_every_pair_of_genres_differs(paint, style: str) -> None:
    for seed in SEEDS[:2]:
        hists = {g: histogram(paint(g, style, seed)) for g in STORY_TYPES}
        for a, b in itertools.combinations(STORY_TYPES, 2):
            distance = 0.5 * float(np.abs(hists[a] - hists[b]).sum())
            assert distance > 0.32, f"{style} seed={seed}: {a} vs {b} distance {distance:.2f}"


@pytest.mark.parametrize("genre", ["scary_horror", "comedy", "sci_fi"])
def test_styles_stay_distinct_under_one_genre(paint, genre: str) -> None:
    """Genre is the mood, style the technique: the technique must still show."""
    frames = {s: paint(genre, s, 1) for s in IMAGE_STYLES}
    for a, b in itertools.combinations(IMAGE_STYLES, 2):
        diff = float(np.abs(frames[a] - frames[b]).mean())
        assert diff > 6, f"{genre}: {a} vs {b} mean abs diff {diff:.1f}"


def _with_mara(description: str, tmp: Path, genre: str, style: str) -> np.ndarray:
    """One scene with Mara in it, described as given; returns the painted frame."""
    cast = (Character("Mara", description),)
    request = StoryRequest(topic=TOPIC, story_type=genre, num_scenes=1, characters=cast, seed=4)
    script = write_script(request)
    script.scenes[0].characters = ["Mara"]
    spec = ImageSpec(style=style, seed=4, width=540, height=960, characters=cast)
    path = make_images(script, spec, tmp / description.replace(" ", "_"), lambda f, m: None)[0]
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)


@pytest.mark.parametrize(("genre", "style"), [("mystery", "realistic"), ("comedy", "comic"),
                                              ("scary_horror", "cinematic")])  # fmt: skip
def test_coat_colour_shows_on_the_figure(tmp_path: Path, genre: str, style: str) -> None:
    red = _with_mara("red coat", tmp_path, genre, style)
    blue = _with_mara("blue coat", tmp_path, genre, style)
    region = np.abs(red - blue).sum(axis=-1) > 30
    assert region.sum() > 500, "the description did not change the figure"

    def redness(frame: np.ndarray) -> float:
        """Red over blue where the two renders differ: the figure's clothes."""
        return float((frame[region][:, 0] - frame[region][:, 2]).mean())

    assert redness(red) - redness(blue) > 25, (genre, style, redness(red), redness(blue))


def test_hair_colour_shows_on_the_figure(tmp_path: Path) -> None:
    blonde = _with_mara("long blonde hair, grey coat", tmp_path, "mystery", "realistic")
    black = _with_mara("long black hair, grey coat", tmp_path, "mystery", "realistic")
    region = np.abs(blonde - black).sum(axis=-1) > 30
    assert region.sum() > 150
    assert luma(blonde[region]) > luma(black[region]) + 40
