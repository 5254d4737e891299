"""Genre moods: what a horror, comedy or romance frame feels like, whatever the image style.

The style (scene_styles.py) is a rendering technique; the genre is a mood (palette, light,
sky, weather, set pieces). `dress` folds a mood into a style's palette so the drawing code
keeps reading one `StyleDef`, while texture, outline, softness and layout stay the style's.
The tables live in scene_moods.toml so they can be tuned without touching code.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from sora_app.providers.scene_styles import RGB, CaptionStyle, Grade, StyleDef

log = logging.getLogger(__name__)

MOODS_FILE = Path(__file__).with_name("scene_moods.toml")
TECHNIQUE_EXTRAS = frozenset({"washes", "grid", "sunburst"})
"""Style extras that are drawing technique, kept under any genre; the rest are weather."""
LIGHT_INK: RGB = (244, 240, 232)
DARK_INK: RGB = (34, 30, 40)
_PALETTE = ("haze", "land", "ground", "sun", "accent", "figure", "rim")


@dataclass(frozen=True)
class Mood:
    """One genre's mood; the neutral mood (no genre) leaves a style exactly as it is."""

    name: str = ""
    sky: tuple[RGB, ...] = ()
    haze: RGB | None = None
    land: RGB | None = None
    ground: RGB | None = None
    sun: RGB | None = None
    accent: RGB | None = None
    figure: RGB | None = None
    rim: RGB | None = None
    blend: float = 0.0
    celestial: str = ""
    """sun | moon | planet | none; empty keeps the style's own."""
    sun_height: tuple[float, float] = (0.25, 0.7)
    weather: tuple[str, ...] | None = None
    """None keeps the style's own extras (the neutral mood)."""
    props: tuple[str, ...] = ()
    colors: tuple[RGB, ...] = ()
    light: float = 0.8
    grade: Grade = field(default_factory=Grade)
    vignette: float = 0.0

    def has(self, effect: str) -> bool:
        """Whether the genre asked for this weather effect or set piece."""
        return effect in (self.weather or ()) or effect in self.props


NEUTRAL = Mood()


def _rgb(value: list[int]) -> RGB:
    return (int(value[0]), int(value[1]), int(value[2]))


def _build(name: str, raw: dict) -> Mood:
    """Turn one merged TOML table into a Mood (lists become tuples, colours RGB)."""
    fields: dict = {"name": name}
    for key in _PALETTE:
        if key in raw:
            fields[key] = _rgb(raw[key])
    fields["sky"] = tuple(_rgb(c) for c in raw.get("sky", ()))
    fields["colors"] = tuple(_rgb(c) for c in raw.get("colors", ()))
    for key in ("blend", "light", "vignette"):
        if key in raw:
            fields[key] = float(raw[key])
    if "sun_height" in raw:
        fields["sun_height"] = (float(raw["sun_height"][0]), float(raw["sun_height"][1]))
    fields["celestial"] = str(raw.get("celestial", ""))
    fields["weather"] = tuple(raw.get("weather", ()))
    fields["props"] = tuple(raw.get("props", ()))
    fields["grade"] = Grade(
        tint=tuple(float(v) for v in raw.get("tint", (1.0, 1.0, 1.0))),  # type: ignore[arg-type]
        saturation=float(raw.get("saturation", 1.0)),
        brightness=float(raw.get("brightness", 1.0)),
        contrast=float(raw.get("contrast", 1.0)),
    )
    return Mood(**fields)


@lru_cache(maxsize=1)
def moods() -> dict[str, Mood]:
    """Every genre's mood, each table merged over its `base` (related genres share one)."""
    tables = tomllib.loads(MOODS_FILE.read_text(encoding="utf-8"))
    out = {}
    for name, table in tables.items():
        base = tables.get(table.get("base", ""), {})
        out[name] = _build(name, {**base, **table})
    return out


def mood_for(genre: str) -> Mood:
    """The genre's mood; no genre (or one the painter does not know) keeps the style's look."""
    key = genre.strip().lower()
    if not key:
        return NEUTRAL
    found = moods().get(key)
    if found is None:
        log.warning("unknown_genre genre=%s", key)
        return NEUTRAL
    return found


def _lerp(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _resample(stops: tuple[RGB, ...], n: int) -> tuple[RGB, ...]:
    """A gradient re-expressed with n stops, so two skies of different lengths can blend."""
    if len(stops) == n:
        return stops
    out = []
    for i in range(n):
        pos = i / max(1, n - 1) * (len(stops) - 1)
        lo = min(int(pos), len(stops) - 2) if len(stops) > 1 else 0
        t = pos - lo if len(stops) > 1 else 0.0
        out.append(_lerp(stops[lo], stops[min(lo + 1, len(stops) - 1)], t))
    return tuple(out)


def dress(style: StyleDef, mood: Mood) -> StyleDef:
    """The style's technique wearing the genre's palette, sky extras and vignette."""
    if mood is NEUTRAL or mood.weather is None:
        return style
    t = mood.blend
    n = max(len(style.sky), len(mood.sky))
    sky = style.sky
    if mood.sky:
        mine, theirs = _resample(style.sky, n), _resample(mood.sky, n)
        sky = tuple(_lerp(a, b, t) for a, b in zip(mine, theirs, strict=True))
    palette = {
        key: _lerp(getattr(style, key), getattr(mood, key), t)
        for key in _PALETTE
        if getattr(mood, key) is not None
    }
    extras = tuple(e for e in style.extras if e in TECHNIQUE_EXTRAS) + mood.weather
    vignette = min(0.9, style.vignette + mood.vignette)
    caption = _legible(style.caption, sky, mood.grade.brightness)
    return replace(style, sky=sky, extras=extras, vignette=vignette, caption=caption, **palette)


def _luma(c: RGB) -> float:
    return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255


def _legible(caption: CaptionStyle, sky: tuple[RGB, ...], brightness: float) -> CaptionStyle:
    """Keep the style's typography but flip its ink when the genre's sky would swallow it."""
    if caption.box is not None:
        return caption
    behind = _luma(_lerp(sky[0], sky[min(1, len(sky) - 1)], 0.4)) * brightness
    if abs(_luma(caption.fill) - behind) >= 0.4:
        return caption
    fill = DARK_INK if behind > 0.55 else LIGHT_INK
    return replace(caption, fill=fill, shadow=caption.shadow or fill == LIGHT_INK)


def combine(*grades: Grade) -> Grade:
    """Grades multiply, so a scene's beat mood shades the genre's grade instead of replacing it."""
    tint, sat, bright, con = [1.0, 1.0, 1.0], 1.0, 1.0, 1.0
    for g in grades:
        tint = [a * b for a, b in zip(tint, g.tint, strict=True)]
        sat, bright, con = sat * g.saturation, bright * g.brightness, con * g.contrast
    return Grade(tuple(tint), sat, bright, con)  # type: ignore[arg-type]
