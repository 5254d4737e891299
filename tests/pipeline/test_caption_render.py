"""Real ffmpeg/libass renders: the highlighted word moves, and captions stay in the safe area.

Scenes are one flat colour, so motion and crossfades change no pixel and every pixel that
differs from the background is caption (text, outline or shadow).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sora_app.pipeline.compile import compile_video
from sora_app.pipeline.probe import decode_frame_at
from sora_app.pipeline.types import Cue, Narration, VideoInfo, Word
from tests.pipeline.test_compile import _noop, _opts, _wav

BACKGROUND = (40, 60, 110)
LONG = "Unquestionably extraordinary lighthouses glimmered across the harbour"
"""Wider than the safe width at this size: libass must wrap it inside the side margins."""
WIDEST = "Pneumonoultramicroscopicsilicovolcanoconiosis"
"""One word wider than the safe width: it cannot wrap, so it is drawn smaller."""


def _flat(path: Path) -> Path:
    Image.new("RGB", (64, 64), BACKGROUND).save(path, quality=95)
    return path


def _render(root: Path, width: int, height: int, **options: object) -> VideoInfo:
    cues = [
        Cue(0.2, 3.8, "Red green blue", 0,
            [Word("Red", 0.2, 1.4), Word("green", 1.4, 2.6), Word("blue", 2.6, 3.8)]),
        Cue(4.0, 5.0, LONG, 1),
        Cue(5.1, 5.9, WIDEST, 1),
    ]  # fmt: skip
    images = [_flat(root / f"s{i}.jpg") for i in range(2)]
    narration = Narration(_wav(root / "voice.wav", 6.0), 6.0, cues, [(0.0, 3.9), (3.9, 6.0)])
    opts = _opts(width=width, height=height, music=False, **options)
    return compile_video(images, narration, root / "out.mp4", opts, _noop)


@pytest.fixture(scope="module")
def portrait(tmp_path_factory: pytest.TempPathFactory) -> VideoInfo:
    return _render(tmp_path_factory.mktemp("portrait"), 360, 640)


@pytest.fixture(scope="module")
def landscape(tmp_path_factory: pytest.TempPathFactory) -> VideoInfo:
    return _render(tmp_path_factory.mktemp("landscape"), 640, 360)


def _pixels(info: VideoInfo, at: float) -> np.ndarray:
    return np.asarray(decode_frame_at(info.path, at), dtype=np.int16)


def _caption_mask(frame: np.ndarray) -> np.ndarray:
    return np.abs(frame - np.array(BACKGROUND)).max(axis=2) > 40


def _highlight_x(frame: np.ndarray) -> float:
    """Mean column of gold pixels (#FFD700): the word being spoken."""
    r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
    gold = (r > 180) & (g > 150) & (b < 110)
    assert gold.sum() > 20, "no highlighted word"
    return float(np.flatnonzero(gold.any(axis=0)).mean())


def test_highlight_moves_word_to_word(portrait) -> None:
    first, last = _pixels(portrait, 0.8), _pixels(portrait, 3.2)
    width = first.shape[1]
    assert _highlight_x(last) - _highlight_x(first) > 0.15 * width
    # The line itself does not move: only the colour of its words changes.
    assert (_caption_mask(first) == _caption_mask(last)).mean() > 0.995


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


@pytest.mark.parametrize("at", [0.8, 3.2, 4.5, 5.5])
def test_portrait_captions_avoid_the_app_overlays(portrait, at: float) -> None:
    mask = _caption_mask(_pixels(portrait, at))
    h, w = mask.shape
    assert mask.sum() > 100
    left, top, right, bottom = _bbox(mask)
    assert bottom <= 0.80 * h  # the apps' caption and music line
    assert right <= 0.88 * w  # the like / comment / share column
    assert top >= 0.10 * h and left >= 0.05 * w


@pytest.mark.parametrize("at", [0.8, 4.5, 5.5])
def test_landscape_captions_inside_five_percent_margins(landscape, at: float) -> None:
    mask = _caption_mask(_pixels(landscape, at))
    h, w = mask.shape
    assert mask.sum() > 100
    left, top, right, bottom = _bbox(mask)
    assert left >= 0.05 * w and right <= 0.95 * w
    assert top >= 0.05 * h and bottom <= 0.95 * h


def test_long_cue_wraps_onto_lines(portrait) -> None:
    """The long cue is taller than a one-line cue: wrapped, not run past the margins."""
    one = _bbox(_caption_mask(_pixels(portrait, 0.8)))
    long = _bbox(_caption_mask(_pixels(portrait, 4.5)))
    assert long[3] - long[1] > 1.6 * (one[3] - one[1])


def _gold_pixels(info: VideoInfo, at: float) -> int:
    frame = _pixels(info, at)
    r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
    return int(((r > 180) & (g > 150) & (b < 110)).sum())


def test_the_request_option_overrides_the_aspect_default(tmp_path) -> None:
    """word_captions=False turns the highlight off on 9:16; True turns it on for 16:9."""
    (tmp_path / "off").mkdir()
    (tmp_path / "on").mkdir()
    off = _render(tmp_path / "off", 360, 640, word_captions=False)
    on = _render(tmp_path / "on", 640, 360, word_captions=True)
    assert _gold_pixels(off, 2.0) == 0
    assert _caption_mask(_pixels(off, 2.0)).sum() > 200, "the plain caption is still shown"
    assert _gold_pixels(on, 2.0) > 20
