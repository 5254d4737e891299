"""Foreground content of a scene: keyword motifs and character figures.

Placement and variation are seeded from a stable hash of each keyword or name, so the same
character looks the same in every scene and the same keyword always yields the same symbol.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from sora_app.providers.scene_landscape import Frame, lerp
from sora_app.providers.scene_shapes import GROUND_SHAPES, SKY_SHAPES, Ops, bar, circle, rect
from sora_app.providers.scene_shapes import shape_for as _shape_for
from sora_app.providers.scene_styles import RGB, stable_hash

_INK: RGB = (12, 12, 20)
_SS = 2
"""Supersampling factor for shape masks, so silhouettes get anti-aliased edges."""
_SKY_FILL = 0.5
"""Largest sky symbol as a fraction of the sky band (caption band bottom to horizon)."""


def stamp(
    frame: Frame,
    ops: Ops,
    cx: float,
    cy: float,
    size: float,
    colors: tuple[RGB, RGB],
    glow: RGB | None = None,
    xscale: float = 1.0,
) -> None:
    """Rasterise a unit-box shape at (cx, cy) with the style's outline/softness and a glow."""
    st, half = frame.style, size / 2
    pts = [[(cx + x * half * xscale, cy + y * half) for x, y in poly] for _, poly in ops]
    flat = [p for poly in pts for p in poly]
    pad = int(size * 0.35 if glow else 0) + st.outline * frame.px + int(st.soft * 3) + 3
    x0, y0 = int(min(p[0] for p in flat)) - pad, int(min(p[1] for p in flat)) - pad
    x1, y1 = int(max(p[0] for p in flat)) + pad, int(max(p[1] for p in flat)) + pad
    size_px = (max(1, x1 - x0) * _SS, max(1, y1 - y0) * _SS)
    body, light = Image.new("L", size_px, 0), Image.new("L", size_px, 0)
    db, dl = ImageDraw.Draw(body), ImageDraw.Draw(light)
    for (op, _), poly in zip(ops, pts, strict=True):
        local = [((x - x0) * _SS, (y - y0) * _SS) for x, y in poly]
        db.polygon(local, fill=255 if op == "+" else 0)
        dl.polygon(local, fill=255 if op == "*" else 0)
    body, light = body.reduce(_SS), light.reduce(_SS)
    union = ImageChops.lighter(body, light)
    if glow:
        halo = union.filter(ImageFilter.BoxBlur(size * 0.12)).point(lambda v: v * 0.55)
        frame.img.paste(glow, (x0, y0), halo)
    if st.outline:
        frame.img.paste(_INK, (x0, y0), union.filter(ImageFilter.MaxFilter(2 * st.outline + 1)))
    if st.soft:
        body = body.filter(ImageFilter.GaussianBlur(st.soft))
        light = light.filter(ImageFilter.GaussianBlur(st.soft))
        edge = ImageChops.subtract(body, body.filter(ImageFilter.MinFilter(5)))
        frame.img.paste(lerp(colors[0], _INK, 0.5), (x0, y0), edge)
    frame.img.paste(colors[0], (x0, y0), body)
    frame.img.paste(colors[1], (x0, y0), light)


def _spread(rng: np.random.Generator, taken: list[tuple[float, float]], box, tries: int = 8):
    """Pick the candidate point farthest from what is already placed, to avoid pile-ups.

    A box that is empty on an axis (the shape is wider than the room) collapses to its middle
    on that axis instead of making numpy raise, so no frame shape can crash a render.
    """
    x0, x1 = _span(box[0], box[2])
    y0, y1 = _span(box[1], box[3])
    best, best_d = (0.0, 0.0), -1.0
    for _ in range(tries):
        p = (rng.uniform(x0, x1), rng.uniform(y0, y1))
        d = min((math.dist(p, q) for q in taken), default=1e9)
        if d > best_d:
            best, best_d = p, d
    return best


def _span(lo: float, hi: float) -> tuple[float, float]:
    """An interval for rng.uniform, which raises when high < low."""
    return (lo, hi) if hi >= lo else ((lo + hi) / 2, (lo + hi) / 2)


def _sky_size(frame: Frame, size: float) -> float:
    """Sky symbols must fit between the caption band and the horizon with room to move.

    In 16:9 and 1:1 that band is only ~26% of the short side, less than the lead symbol
    (24%) plus its margins (x1.3), so the size is capped at half the band.
    """
    return min(size, (frame.horizon - frame.sky_top) * _SKY_FILL)


def motifs(
    frame: Frame, keywords: list[str], scene_key: int, sky: bool, avoid_x: Sequence[float] = ()
) -> None:
    """Turn up to four keywords into symbols: sky symbols float (sky=True), ground ones stand."""
    st, u = frame.style, frame.unit
    taken: list[tuple[float, float]] = [frame.sun]
    on_ground: list[tuple[float, float]] = [(x, 0.0) for x in avoid_x]
    dark_sky = sum(st.sky[0]) < 200
    for i, word in enumerate(k for k in keywords[:4] if k.strip()):
        h = stable_hash("kw", word.strip().lower())
        rng = np.random.default_rng(stable_hash("kw-place", h, scene_key))
        name = _shape_for(word, h)
        if (name in SKY_SHAPES) != sky:
            continue
        size = u * (0.24 if i == 0 else rng.uniform(0.1, 0.15))
        if name in SKY_SHAPES:
            size = _sky_size(frame, size)
            ops = SKY_SHAPES[name](h >> 12)
            box = (size * 0.7, frame.sky_top + size * 0.6, frame.w - size * 0.7,
                   frame.horizon - size * 0.7)  # fmt: skip
            cx, cy = _spread(rng, taken, box)
            light = lerp(st.accent, st.sky[0], 0.55)
            stamp(
                frame, ops, cx, cy, size, (st.accent, light), glow=st.accent if dark_sky else None
            )
        else:
            ops = GROUND_SHAPES[name](h >> 12)
            size *= 1.25
            cx, _ = _spread(rng, on_ground, (size * 0.6, 0, frame.w - size * 0.6, 0), tries=12)
            base = float(frame.ground[int(np.clip(cx, 0, frame.w - 1))]) + size * 0.04
            wide = 2.2 if name == "wave" else 1.0
            stamp(frame, ops, cx, base - size / 2, size, (st.figure, st.accent), xscale=wide)
            cy = base - size / 2
            on_ground.append((cx, 0.0))
        taken.append((cx, cy))


def _figure_ops(h: int) -> Ops:
    """Silhouette of a person with hash-picked build, clothing, headwear and prop."""
    body, hat, prop = h % 3, (h >> 4) % 4, (h >> 8) % 4
    ops: Ops = [("+", circle(0, -0.83, 0.13)), ("+", bar(0, -0.74, 0, -0.6, 0.09))]
    if body == 0:
        ops.append(("+", [(-0.2, -0.65), (0.2, -0.65), (0.33, 1), (-0.33, 1)]))
    else:
        if body == 1:
            ops += [("+", [(-0.21, -0.65), (0.21, -0.65), (0.19, 0.08), (-0.19, 0.08)])]
            ops += [("+", bar(-0.09, 0.0, -0.12, 1, 0.12)), ("+", bar(0.09, 0.0, 0.13, 1, 0.12))]
        else:
            ops.append(("+", [(-0.17, -0.65), (0.17, -0.65), (0.11, -0.2), (0.38, 1),
                              (-0.38, 1), (-0.11, -0.2)]))  # fmt: skip
        ops += [
            ("+", bar(-0.19, -0.6, -0.28, 0.05, 0.085)),
            ("+", bar(0.19, -0.6, 0.28, 0.05, 0.085)),
        ]
    if hat == 1:
        ops += [("+", rect(-0.25, -0.94, 0.25, -0.9)), ("+", rect(-0.13, -1.1, 0.13, -0.92))]
    elif hat == 2:
        ops.append(("+", [(-0.22, -0.9), (0.02, -1.32), (0.22, -0.9)]))
    elif hat == 3:
        ops.append(("+", circle(0, -0.84, 0.18, 0.19)))
    if prop == 1:
        ops.append(("+", bar(0.34, -0.95, 0.31, 1, 0.045)))
    elif prop == 2:
        ops += [("+", bar(0.29, 0.05, 0.3, 0.22, 0.02)), ("*", circle(0.3, 0.3, 0.08))]
    elif prop == 3:
        ops.append(("+", bar(-0.28, 0.05, -0.62, -0.6, 0.045)))
    return ops


def _cast(frame: Frame, characters: list[str], scene_key: int) -> list[tuple[int, float]]:
    """(name hash, x) per character: evenly spread slots with a stable per-name nudge."""
    names = [c for c in characters[:4] if c.strip()]
    out = []
    for i, name in enumerate(names):
        h = stable_hash("char", name.strip().lower())
        rng = np.random.default_rng(stable_hash("char-place", h, scene_key))
        slot = (i + 1) / (len(names) + 1)
        out.append((h, frame.w * (0.12 + 0.76 * slot + rng.uniform(-0.04, 0.04))))
    return out


def figure_xs(frame: Frame, characters: list[str], scene_key: int) -> list[float]:
    """Where figures will stand, so ground motifs can keep out of their way."""
    return [x for _, x in _cast(frame, characters, scene_key)]


def figures(frame: Frame, characters: list[str], scene_key: int) -> None:
    """Characters as rim-lit silhouettes standing on the ground line, with contact shadows."""
    st, u = frame.style, frame.unit
    draw = ImageDraw.Draw(frame.img)
    for h, cx in _cast(frame, characters, scene_key):
        height = u * 0.36 * (0.85 + 0.25 * ((h >> 16) % 100) / 100)
        feet = float(frame.ground[int(np.clip(cx, 0, frame.w - 1))]) + height * 0.02
        sw = height * 0.22
        shadow = lerp(st.ground, (0, 0, 0), 0.4)
        draw.ellipse((cx - sw, feet - sw * 0.12, cx + sw, feet + sw * 0.12), fill=shadow)
        ops = _figure_ops(h)
        xs = 0.85 + 0.35 * ((h >> 24) % 100) / 100
        rim_dx = math.copysign(max(1.0, height * 0.012), frame.sun[0] - cx)
        stamp(frame, ops, cx + rim_dx, feet - height / 2 - 1, height, (st.rim, st.rim), xscale=xs)
        stamp(frame, ops, cx, feet - height / 2, height, (st.figure, st.accent), xscale=xs)
