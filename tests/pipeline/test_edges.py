"""No frame shows an edge of its picture, and titles stay put inside the safe area.

The bug: the offline painter drew letterbox bars into the still and the title at its top; the
pan then slid bars and title around, so a third of the frames had black rows at the top edge
(up to 130 px of 1920) and chapter titles were clipped. Every check here decodes real frames.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from sora_app.pipeline.compile import compile_video
from sora_app.pipeline.images import IMAGE_STYLES, make_images, title_layer_path
from sora_app.pipeline.types import CompileOptions, Cue, ImageSpec, Narration, Scene, Script
from sora_app.providers.scene_caption import caption_layer
from sora_app.providers.scene_renderer import paint_scene
from sora_app.providers.scene_styles import STYLES
from tests.pipeline.test_compile import _wav

SIZES = {"9:16": (180, 320), "16:9": (320, 180), "1:1": (240, 240)}
"""The three aspect ratios at a sixth of the real size: the crop path is proportional, and
whole-pixel rounding is coarser here, so an off-by-one shows up sooner than at full size."""
BLACK = 24
"""A row whose brightest pixel is darker than this (of 255) is black: the bright test
pictures never come near it, while an uncovered edge decodes to 16 (TV black)."""
PICTURES = {
    "tiny": (24, 18),
    "huge": (5200, 1300),
    "portrait": (300, 900),
    "landscape": (900, 300),
}


def _picture(path: Path, size: tuple[int, int], hue: int) -> Path:
    """A bright gradient with diagonal stripes: no row or column of it is ever dark."""
    w, h = size
    xs, ys = np.linspace(0, 1, w)[None, :], np.linspace(0, 1, h)[:, None]
    base = np.array([(hue * 67) % 120, (hue * 131) % 120, (hue * 29) % 120], dtype=np.float64)
    arr = 110 + base[None, None, :] + 25 * (xs + ys)[..., None]
    stripes = ((np.arange(w)[None, :] + np.arange(h)[:, None]) // max(2, min(w, h) // 8)) % 2
    arr = arr + 15 * stripes[..., None]
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path)
    return path


def _narration(root: Path, spans: list[tuple[float, float]]) -> Narration:
    duration = spans[-1][1]
    cues = [
        Cue(a + 0.05, b - 0.05, f"Scene {k + 1} is speaking.", k) for k, (a, b) in enumerate(spans)
    ]
    return Narration(_wav(root / "voice.wav", duration), duration, cues, spans)


def _script(count: int, title: str = "The Keeper") -> Script:
    scenes = [
        Scene(index=k, narration="Words.", caption=f"Chapter {k + 1}", keywords=["lantern"])
        for k in range(count)
    ]
    return Script(title=title, story_type="comedy", scenes=scenes)


def edge_faults(frame: np.ndarray) -> list[str]:
    """Which edges of a grey frame are a fully black row or column."""
    edges = {"top": frame[0], "bottom": frame[-1], "left": frame[:, 0], "right": frame[:, -1]}
    return [name for name, line in edges.items() if int(line.max()) < BLACK]


def _every_frame_faults(video: Path) -> tuple[int, list[tuple[int, list[str]]]]:
    """Decode every frame; return the frame count and the frames with a black edge."""
    faults: list[tuple[int, list[str]]] = []
    count = 0
    with av.open(str(video)) as container:
        for count, frame in enumerate(container.decode(video=0), start=1):
            found = edge_faults(frame.to_ndarray(format="gray"))
            if found:
                faults.append((count - 1, found))
    return count, faults


def _compile(images: list[Path], narration: Narration, out: Path, **options: object) -> Path:
    opts = CompileOptions(**{"fps": 30, "seed": 5, "music": False, **options})
    compile_video(images, narration, out, opts, lambda f, s: None)
    return out


@pytest.mark.parametrize("pacing", ["slow", "fast"])
@pytest.mark.parametrize("aspect", sorted(SIZES))
def test_no_frame_shows_an_edge_for_any_picture_size(tmp_path, aspect, pacing) -> None:
    """Tiny, huge, portrait and landscape uploads, one per scene, through the real path."""
    width, height = SIZES[aspect]
    uploads = [_picture(tmp_path / f"{k}.png", size, k) for k, size in enumerate(PICTURES.values())]
    spec = ImageSpec(style="cinematic", width=width, height=height, seed=5)
    images = make_images(_script(len(uploads)), spec, tmp_path / "work", lambda f, s: None,
                         manual_images=uploads)  # fmt: skip
    spans = [(0.0, 1.2), (1.2, 2.6), (2.6, 3.5), (3.5, 5.0)]
    video = _compile(images, _narration(tmp_path, spans), tmp_path / "out.mp4",
                     width=width, height=height, pacing=pacing)  # fmt: skip
    count, faults = _every_frame_faults(video)
    assert count == 150
    assert not faults, f"{len(faults)} of {count} frames show an edge, first: {faults[:5]}"


@pytest.mark.parametrize("aspect", sorted(SIZES))
def test_a_long_scene_pans_to_its_limit_without_an_edge(tmp_path, aspect) -> None:
    """One 14 s scene at the fastest pan wants more travel than the overscan allows."""
    width, height = SIZES[aspect]
    image = _picture(tmp_path / "wide.png", (width, height), 3)
    video = _compile([image], _narration(tmp_path, [(0.0, 14.0)]), tmp_path / "out.mp4",
                     width=width, height=height, pacing="fast", seed=2)  # fmt: skip
    count, faults = _every_frame_faults(video)
    assert count == 420
    assert not faults, f"{len(faults)} of {count} frames show an edge, first: {faults[:5]}"


@pytest.mark.parametrize("aspect", sorted(SIZES))
def test_painted_scenes_have_no_black_bars_in_any_style(aspect) -> None:
    """The painter's own pictures: no style letterboxes, for a bright genre at every aspect."""
    width, height = SIZES[aspect]
    for style in IMAGE_STYLES:
        scene = _script(1).scenes[0]
        spec = ImageSpec(style=style, width=width, height=height, seed=4)
        picture = paint_scene(scene, 1, "The Keeper", spec, genre="comedy").picture
        assert edge_faults(np.asarray(picture.convert("L"))) == [], style


def test_a_painted_cinematic_video_has_no_black_bars(tmp_path) -> None:
    """Through images and compile: the style that used to paint bars, panned both ways."""
    spec = ImageSpec(style="cinematic", width=180, height=320, seed=6)
    images = make_images(_script(2), spec, tmp_path, lambda f, s: None)
    narration = _narration(tmp_path, [(0.0, 2.0), (2.0, 4.0)])
    video = _compile(images, narration, tmp_path / "out.mp4", width=180, height=320, seed=6)
    count, faults = _every_frame_faults(video)
    assert count == 120 and not faults, f"{len(faults)} of {count} frames: {faults[:5]}"


def _title_mask(layer_path: Path) -> np.ndarray:
    """Where the title layer is solid enough to be seen."""
    return np.asarray(Image.open(layer_path).convert("RGBA"))[..., 3] > 200


def test_the_title_stays_put_while_the_picture_pans(tmp_path) -> None:
    """Comic style: its title sits on a solid box, so a moved title would change many pixels."""
    width, height = 180, 320
    spec = ImageSpec(style="comic", width=width, height=height, seed=8)
    images = make_images(_script(1, "A Lighthouse"), spec, tmp_path, lambda f, s: None)
    layer = title_layer_path(images[0])
    assert layer.is_file()
    video = _compile(images, _narration(tmp_path, [(0.0, 6.0)]), tmp_path / "out.mp4",
                     width=width, height=height, pacing="fast", subtitles=False)  # fmt: skip
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="gray").astype(int) for f in container.decode(video=0)]
    first, last = frames[0], frames[-1]
    mask = _title_mask(layer)
    picture = np.zeros(first.shape, dtype=bool)
    picture[mask.shape[0] :] = True
    assert mask.sum() > 50, "the title layer should hold visible text"
    title_change = np.abs(first[: mask.shape[0]][mask] - last[: mask.shape[0]][mask]).mean()
    picture_change = np.abs(first[picture] - last[picture]).mean()
    assert picture_change > 4, "the picture should have moved"
    assert title_change < 4, f"the title moved: mean change {title_change:.1f}"


@pytest.mark.parametrize("aspect", sorted(SIZES))
def test_titles_sit_inside_the_safe_area(aspect) -> None:
    """Every style, a long title and caption: text at least 5 % from every edge, and below the
    ~8 % header that short-video apps lay over a 9:16 frame."""
    width, height = (side * 3 for side in SIZES[aspect])
    scene = Scene(index=8, narration="x", caption="An Extraordinarily Long Chapter Title That "
                  "Keeps Going Well Past Any Sensible Length", keywords=[])  # fmt: skip
    for style in IMAGE_STYLES:
        spec = ImageSpec(style=style, width=width, height=height, seed=1)
        title = paint_scene(scene, 12, "The Vanishing Lighthouse of the North", spec).title
        alpha = np.asarray(title)[..., 3]
        rows, cols = np.nonzero(alpha > 16)
        assert rows.size, style
        top_limit = 0.08 if height > width else 0.05
        assert rows.min() >= top_limit * height, (style, rows.min())
        assert rows.max() <= 0.95 * height, (style, rows.max())
        assert cols.min() >= 0.05 * width and cols.max() <= 0.95 * width, (style, cols.min())


def test_pale_titles_get_a_halo_on_a_bright_picture() -> None:
    """Cinematic's light type vanished on daytime skies: a dark halo now backs it there."""
    scene = _script(1).scenes[0]
    caption = STYLES["cinematic"].caption

    def dark_backing(backdrop_colour: tuple[int, int, int]) -> int:
        backdrop = Image.new("RGB", (360, 640), backdrop_colour)
        layer = np.asarray(caption_layer((360, 640), caption, scene, 3, "T", backdrop))
        return int(((layer[..., :3].sum(axis=2) < 150) & (layer[..., 3] > 120)).sum())

    assert dark_backing((235, 230, 220)) > 20 * max(1, dark_backing((20, 24, 30)))
