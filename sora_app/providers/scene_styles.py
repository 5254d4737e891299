"""Look-up tables for the offline scene renderer, kept apart so drawing code stays generic.

A style is pure data (palette, composition, texture, caption treatment); a scene's beat mood
(dread, joy...) is a colour grade applied on top. The story's genre is a third, separate
layer (scene_moods.py) that re-dresses the palette, so a style is a technique, not a mood.
Adding a style means adding one `StyleDef` entry here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import font_roboto
from PIL import ImageFont

RGB = tuple[int, int, int]
FONT_DIR = Path(font_roboto.__file__).parent / "files"


def stable_hash(*parts: object) -> int:
    """Hash that is identical across interpreter runs (unlike salted hash()), for repeatability."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(repr(part).encode("utf-8"))
        digest.update(b"\x1f")
    return int.from_bytes(digest.digest(), "big")


@lru_cache(maxsize=64)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """Bundled Roboto only, so output never depends on the host's installed fonts."""
    return ImageFont.truetype(str(FONT_DIR / f"Roboto-{name}.ttf"), max(6, size))


@dataclass(frozen=True)
class CaptionStyle:
    """How a style draws the scene caption; sizes are fractions of min(width, height)."""

    font: str = "Bold"
    size: float = 0.062
    upper: bool = False
    tracking: float = 0.0
    fill: RGB = (255, 255, 255)
    stroke: float = 0.0
    stroke_fill: RGB = (0, 0, 0)
    box: RGB | None = None
    box_border: RGB | None = None
    align: str = "center"
    glow: RGB | None = None
    shadow: bool = True
    rule: RGB | None = None


@dataclass(frozen=True)
class StyleDef:
    """Everything that makes one image style look like itself."""

    sky: tuple[RGB, ...]
    haze: RGB
    land: RGB
    ground: RGB
    accent: RGB
    sun: RGB
    figure: RGB
    rim: RGB
    celestial: str
    landscape: str
    layers: int
    extras: tuple[str, ...]
    texture: str
    grain: float
    vignette: float
    saturation: float
    contrast: float
    caption: CaptionStyle
    posterize: int = 0
    outline: int = 0
    soft: float = 0.0


# fmt: off
STYLES: dict[str, StyleDef] = {
    "cinematic": StyleDef(
        sky=((12, 34, 54), (34, 82, 104), (120, 120, 110), (236, 146, 74)),
        haze=(214, 136, 86), land=(16, 28, 38), ground=(9, 14, 20), accent=(255, 196, 120),
        sun=(255, 214, 150), figure=(6, 10, 14), rim=(255, 170, 90),
        celestial="sun", landscape="mountains",
        layers=4, extras=("fog",), texture="grain", grain=0.045, vignette=0.6,
        saturation=1.05, contrast=1.12,
        caption=CaptionStyle(font="Light", upper=True, tracking=0.22, size=0.056,
                             fill=(242, 236, 226)),
    ),
    "realistic": StyleDef(
        sky=((62, 112, 184), (128, 176, 222), (226, 228, 220)),
        haze=(186, 204, 216), land=(58, 78, 58), ground=(42, 56, 38), accent=(250, 246, 232),
        sun=(255, 250, 235), figure=(28, 30, 32), rim=(255, 240, 210),
        celestial="sun", landscape="mountains",
        layers=5, extras=("clouds",), texture="grain", grain=0.015, vignette=0.25,
        saturation=1.0, contrast=1.0,
        caption=CaptionStyle(font="Medium", align="left", size=0.058),
    ),
    "anime": StyleDef(
        sky=((34, 104, 228), (96, 172, 250), (255, 196, 222)),
        haze=(206, 226, 255), land=(64, 176, 104), ground=(38, 126, 84), accent=(255, 116, 168),
        sun=(255, 250, 230), figure=(42, 40, 84), rim=(255, 255, 255),
        celestial="sun", landscape="hills",
        layers=3, extras=("clouds", "sparkles"), texture="cel", grain=0.0, vignette=0.1,
        saturation=1.25, contrast=1.05, outline=2,
        caption=CaptionStyle(font="Black", stroke=0.11, stroke_fill=(226, 58, 120), size=0.068),
    ),
    "watercolor": StyleDef(
        sky=((238, 226, 206), (210, 224, 230), (246, 236, 218)),
        haze=(222, 212, 198), land=(112, 146, 168), ground=(214, 198, 174),
        accent=(198, 88, 88), sun=(232, 150, 110), figure=(70, 60, 84), rim=(246, 236, 220),
        celestial="sun",
        landscape="hills", layers=3, extras=("washes",), texture="paper", grain=0.0,
        vignette=0.12, saturation=0.9, contrast=0.95, soft=1.3,
        caption=CaptionStyle(font="Italic", fill=(62, 50, 74), shadow=False, size=0.064),
    ),
    "dark": StyleDef(
        sky=((3, 4, 10), (14, 16, 32), (46, 42, 64)),
        haze=(58, 56, 80), land=(20, 20, 34), ground=(6, 6, 12), accent=(186, 34, 44),
        sun=(220, 224, 236), figure=(2, 2, 4), rim=(120, 132, 176),
        celestial="moon", landscape="jagged",
        layers=3, extras=("stars", "fog", "trees"), texture="grain", grain=0.06, vignette=0.75,
        saturation=0.7, contrast=1.15,
        caption=CaptionStyle(font="Light", upper=True, tracking=0.18, fill=(222, 222, 232),
                             rule=(176, 22, 34), size=0.056),
    ),
    "vintage": StyleDef(
        sky=((190, 150, 100), (222, 194, 148), (240, 222, 186)),
        haze=(214, 186, 140), land=(122, 92, 62), ground=(98, 72, 48), accent=(142, 62, 42),
        sun=(246, 226, 180), figure=(62, 42, 30), rim=(250, 230, 190),
        celestial="sun", landscape="hills",
        layers=3, extras=("rays",), texture="aged", grain=0.05, vignette=0.55,
        saturation=0.6, contrast=0.95,
        caption=CaptionStyle(font="Bold", upper=True, tracking=0.08, fill=(72, 46, 30),
                             box=(238, 224, 190), box_border=(110, 76, 48), shadow=False,
                             size=0.052),
    ),
    "comic": StyleDef(
        sky=((255, 216, 60), (255, 150, 46), (238, 76, 58)),
        haze=(255, 188, 90), land=(58, 78, 200), ground=(38, 38, 118), accent=(255, 255, 255),
        sun=(255, 250, 210), figure=(20, 20, 30), rim=(255, 255, 255),
        celestial="sun", landscape="mountains",
        layers=2, extras=("sunburst",), texture="halftone", grain=0.0, vignette=0.0,
        saturation=1.2, contrast=1.1, posterize=5, outline=3,
        caption=CaptionStyle(font="Black", upper=True, fill=(18, 18, 18), box=(255, 238, 80),
                             box_border=(0, 0, 0), shadow=False, size=0.06),
    ),
    "minimalist": StyleDef(
        sky=((238, 234, 226), (230, 226, 216)),
        haze=(232, 228, 218), land=(40, 46, 56), ground=(226, 220, 208), accent=(226, 88, 62),
        sun=(226, 88, 62), figure=(40, 46, 56), rim=(238, 234, 226),
        celestial="disc", landscape="plain",
        layers=1, extras=(), texture="none", grain=0.008, vignette=0.0,
        saturation=1.0, contrast=1.0,
        caption=CaptionStyle(font="Light", fill=(40, 46, 56), align="left", shadow=False,
                             size=0.054),
    ),
    "cyberpunk": StyleDef(
        sky=((8, 4, 28), (56, 10, 88), (150, 24, 132), (255, 44, 140)),
        haze=(140, 30, 140), land=(14, 8, 32), ground=(7, 4, 18), accent=(0, 236, 255),
        sun=(255, 210, 60), figure=(5, 2, 12), rim=(0, 236, 255),
        celestial="neon", landscape="city",
        layers=3, extras=("stars", "grid"), texture="scanlines", grain=0.03, vignette=0.45,
        saturation=1.3, contrast=1.1,
        caption=CaptionStyle(font="Bold", upper=True, tracking=0.1, fill=(240, 250, 255),
                             glow=(255, 40, 200), size=0.058),
    ),
    "fantasy": StyleDef(
        sky=((28, 18, 68), (106, 58, 140), (250, 178, 122)),
        haze=(200, 140, 162), land=(40, 30, 72), ground=(24, 18, 44), accent=(255, 222, 140),
        sun=(255, 204, 176), figure=(18, 12, 30), rim=(255, 210, 140),
        celestial="planet", landscape="spires",
        layers=4, extras=("stars", "sparkles"), texture="bloom", grain=0.02, vignette=0.4,
        saturation=1.15, contrast=1.05,
        caption=CaptionStyle(font="MediumItalic", fill=(255, 226, 160), stroke=0.06,
                             stroke_fill=(40, 20, 52), size=0.066),
    ),
}
# fmt: on


@dataclass(frozen=True)
class Grade:
    """A mood's colour grade: RGB gain, saturation, brightness and contrast multipliers."""

    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    saturation: float = 1.0
    brightness: float = 1.0
    contrast: float = 1.0


_DREAD = Grade((0.88, 0.95, 1.1), 0.68, 0.84, 1.14)
_SORROW = Grade((0.92, 0.97, 1.06), 0.6, 0.92, 0.94)
_JOY = Grade((1.06, 1.03, 0.96), 1.2, 1.08, 1.0)

MOODS: dict[str, Grade] = {
    "neutral": Grade(),
    "dread": _DREAD,
    "fear": _DREAD,
    "horror": _DREAD,
    "calm": Grade((0.98, 1.02, 1.05), 0.88, 1.05, 0.9),
    "peace": Grade((0.98, 1.02, 1.05), 0.88, 1.05, 0.9),
    "hope": Grade((1.08, 1.03, 0.92), 1.08, 1.08, 1.0),
    "tension": Grade((1.06, 0.96, 0.93), 1.0, 0.94, 1.22),
    "suspense": Grade((1.0, 0.97, 1.02), 0.9, 0.9, 1.2),
    "triumph": Grade((1.13, 1.04, 0.84), 1.22, 1.1, 1.1),
    "sad": _SORROW,
    "sorrow": _SORROW,
    "grief": _SORROW,
    "mystery": Grade((0.94, 0.92, 1.1), 0.88, 0.92, 1.06),
    "wonder": _JOY,
    "joy": _JOY,
    "anger": Grade((1.16, 0.9, 0.84), 1.1, 0.95, 1.2),
}


def mood_grade(mood: str) -> Grade:
    """Known moods use the table; unknown ones still get a small, stable tint of their own."""
    key = mood.strip().lower()
    if key in MOODS:
        return MOODS[key]
    h = stable_hash("mood", key)
    tint = tuple(0.95 + ((h >> (8 * i)) & 0xFF) / 255 * 0.1 for i in range(3))
    return Grade(tint=tint, saturation=0.95 + (h >> 24 & 0xFF) / 255 * 0.1)  # type: ignore[arg-type]
