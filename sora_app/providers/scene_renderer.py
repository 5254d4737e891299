"""Offline scene-image renderer: layered, deterministic Pillow/numpy art for one scene.

Painting happens at a reduced working resolution (short side 540 px) and is upscaled; grain,
scanlines and the caption are then applied at full resolution so they stay crisp. All
randomness flows from `stable_hash` of the scene and spec, so a re-render is byte-identical.
The caption comes back as its own transparent layer (see scene_caption): the video pans the
picture under it, and a title painted into the picture would slide off the frame.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from sora_app.pipeline.types import Character, ImageSpec, Scene, StageError
from sora_app.providers import scene_figures, scene_landscape, scene_props, scene_sky, scene_weather
from sora_app.providers import scene_layers as L
from sora_app.providers.scene_caption import caption_layer
from sora_app.providers.scene_landscape import Frame
from sora_app.providers.scene_looks import Look, parse
from sora_app.providers.scene_moods import Mood, combine, dress, mood_for
from sora_app.providers.scene_styles import STYLES, Grade, StyleDef, mood_grade, stable_hash

log = logging.getLogger(__name__)

WORK_SHORT_SIDE = 540
CALM_BAND = 0.22
"""Bottom fraction of the frame kept low-detail because subtitles are burned in there."""


@dataclass(frozen=True)
class PaintedScene:
    """A scene's picture and, apart from it, its title layer (RGBA, full width, top band)."""

    picture: Image.Image
    title: Image.Image

    def flattened(self) -> Image.Image:
        """Title over picture, as one still (previews, and what a frame of the video shows)."""
        img = self.picture.copy()
        img.paste(self.title, (0, 0), self.title)
        return img


def paint_scene(
    scene: Scene, total_scenes: int, title: str, spec: ImageSpec, genre: str = ""
) -> PaintedScene:
    """Paint one scene: an RGB picture of exactly spec.width x spec.height plus its title.

    `genre` (the story type) sets the mood; `spec.style` only the technique, so every
    style renders every genre. Without a genre the style's own look is kept.
    """
    base = STYLES.get(spec.style)
    if base is None:
        raise StageError("UNKNOWN_STYLE", f"Unknown image style '{spec.style}'.")
    started = time.perf_counter()
    scale = min(1.0, WORK_SHORT_SIDE / min(spec.width, spec.height))
    w, h = max(16, round(spec.width * scale)), max(16, round(spec.height * scale))
    world = stable_hash("world", spec.seed, title, spec.style)
    take = (scene.variant,) if scene.variant else ()  # take 0 paints as before variants existed
    scene_key = stable_hash("scene", world, scene.index, scene.caption, scene.mood, *take)
    if scene.visual:  # the creator's words may name motifs the painter knows
        scene = replace(scene, keywords=[*scene.keywords, *re.findall(r"[\w'-]+", scene.visual)])
    mood = mood_for(genre)
    frame = _frame(mood, dress(base, mood), w, h, scene, total_scenes, world, scene_key)
    _paint(frame, scene, scene_key, _looks(spec.characters))
    img = _finish(frame, combine(mood_grade(scene.mood), mood.grade), spec.width, spec.height)
    layer = caption_layer(img.size, frame.style.caption, scene, total_scenes, title, img)
    log.debug(
        "scene_rendered index=%d style=%s genre=%s size=%dx%d ms=%.0f",
        scene.index, spec.style, mood.name or "-", spec.width, spec.height,
        (time.perf_counter() - started) * 1e3,
    )  # fmt: skip
    return PaintedScene(img, layer)


def render_scene(
    scene: Scene, total_scenes: int, title: str, spec: ImageSpec, genre: str = ""
) -> Image.Image:
    """One scene as a single RGB still, title included (see paint_scene)."""
    return paint_scene(scene, total_scenes, title, spec, genre).flattened()


def _looks(characters: tuple[Character, ...]) -> dict[str, Look]:
    """Each described character's look, keyed the way scenes name them."""
    return {c.name.strip().casefold(): parse(c.description) for c in characters if c.description}


def _paint(frame: Frame, scene: Scene, key: int, looks: dict[str, Look]) -> None:
    """Back to front: sky, weather, set pieces, landscape, motifs, figures, front weather."""
    frame.img = L.to_image(scene_sky.sky(frame))
    scene_sky.sky_extras(frame)
    scene_sky.celestial(frame)
    scene_weather.sky(frame)
    scene_props.draw_layer(frame, scene_props.SKY, key)
    scene_landscape.ridges(frame)
    frame.img = L.to_image(scene_landscape.atmosphere(frame, L.to_array(frame.img)))
    scene_props.draw_layer(frame, scene_props.FAR, key)
    scene_figures.motifs(frame, scene.keywords, key, sky=True)
    scene_landscape.draw_ground(frame)
    avoid = scene_figures.figure_xs(frame, scene.characters, key)
    scene_props.draw_layer(frame, scene_props.NEAR, key, avoid)
    scene_figures.motifs(frame, scene.keywords, key, sky=False, avoid_x=avoid)
    scene_figures.figures(frame, scene.characters, key, looks)
    scene_weather.front(frame)


def _frame(
    mood: Mood, style: StyleDef, w: int, h: int, scene: Scene, total: int, world: int, key: int
) -> Frame:
    """Composition for the aspect ratio: caption band on top, calm floor at the bottom."""
    rng = np.random.default_rng(key)
    portrait = h > w * 1.2
    horizon = h * (0.6 if portrait else 0.56)
    ground_y = h * (1 - CALM_BAND) + min(w, h) * 0.01
    sky_top = h * (0.22 if portrait else 0.3)
    progress = scene.index / max(1, total - 1)
    jitter = np.random.default_rng(world).uniform(-0.05, 0.05)
    sun_x = w * (0.28 + 0.44 * progress + jitter)
    first, last = mood.sun_height
    sun_y = sky_top + (horizon - sky_top) * (first + (last - first) * progress)
    if style.celestial == "disc":
        sun_x, sun_y = w * (0.64 - 0.2 * progress), sky_top + (horizon - sky_top) * 0.45
    img = Image.new("RGB", (w, h))
    return Frame(img, style, rng, horizon, ground_y, sky_top, (sun_x, sun_y), mood=mood)


def _finish(frame: Frame, grade: Grade, width: int, height: int) -> Image.Image:
    """Grade, texture and vignette at working size, then upscale and add full-res texture."""
    st = frame.style
    arr = L.to_array(frame.img)
    if st.texture == "bloom":
        arr = L.bloom(arr, frame.unit * 0.06)
    arr = L.grade(arr, grade, st.saturation, st.contrast)
    if st.texture == "halftone":
        arr = L.halftone(arr, period=max(4.0, frame.unit / 90))
    elif st.texture == "paper":
        arr = L.paper(arr, frame.rng)
    elif st.texture == "aged":
        arr = L.aged(arr, frame.rng)
    arr = L.posterize(arr, st.posterize)
    arr = L.vignette(arr, st.vignette)
    img = L.to_image(arr)
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.BICUBIC)
    return L.apply_full_res(img, frame.rng, st.grain, st.texture == "scanlines")
