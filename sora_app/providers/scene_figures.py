"""Foreground content of a scene: keyword motifs and character figures.

Placement and variation are seeded from a stable hash of each keyword or name, so the same
character looks the same in every scene and the same keyword always yields the same symbol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import ImageDraw

from sora_app.providers.scene_landscape import Frame, lerp
from sora_app.providers.scene_looks import Look
from sora_app.providers.scene_paint import stamp
from sora_app.providers.scene_people import HEAD_R, person_colors, person_ops
from sora_app.providers.scene_shapes import GROUND_SHAPES, SKY_SHAPES, Ops, bar, circle, rect
from sora_app.providers.scene_shapes import shape_for as _shape_for
from sora_app.providers.scene_styles import stable_hash

_SKY_FILL = 0.5
"""Largest sky symbol as a fraction of the sky band (caption band bottom to horizon)."""
_FACE_MIN_PX = 5.0
"""Smallest head radius (working pixels) that still gets eyes and a mouth."""


def spread(rng: np.random.Generator, taken: list[tuple[float, float]], box, tries: int = 8):
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
            cx, cy = spread(rng, taken, box)
            light = lerp(st.accent, st.sky[0], 0.55)
            stamp(
                frame, ops, cx, cy, size, (st.accent, light), glow=st.accent if dark_sky else None
            )
        else:
            ops = GROUND_SHAPES[name](h >> 12)
            size *= 1.25
            cx, _ = spread(rng, on_ground, (size * 0.6, 0, frame.w - size * 0.6, 0), tries=12)
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


def _cast(frame: Frame, characters: list[str], scene_key: int) -> list[tuple[str, int, float]]:
    """(name, name hash, x) per character: evenly spread slots with a stable per-name nudge."""
    names = [c for c in characters[:4] if c.strip()]
    out = []
    for i, name in enumerate(names):
        h = stable_hash("char", name.strip().lower())
        rng = np.random.default_rng(stable_hash("char-place", h, scene_key))
        slot = (i + 1) / (len(names) + 1)
        out.append((name, h, frame.w * (0.12 + 0.76 * slot + rng.uniform(-0.04, 0.04))))
    return out


def figure_xs(frame: Frame, characters: list[str], scene_key: int) -> list[float]:
    """Where figures will stand, so ground motifs can keep out of their way."""
    return [x for _, _, x in _cast(frame, characters, scene_key)]


def figures(
    frame: Frame, characters: list[str], scene_key: int, looks: Mapping[str, Look] | None = None
) -> None:
    """Characters standing on the ground line with contact shadows and a rim of light.

    A described character is painted in its own colours and expression; the others stay
    rim-lit silhouettes, which suit every style and keep the cast readable.
    """
    st, u = frame.style, frame.unit
    draw = ImageDraw.Draw(frame.img)
    for name, h, cx in _cast(frame, characters, scene_key):
        look = (looks or {}).get(name.strip().casefold(), Look())
        height = u * 0.36 * (0.85 + 0.25 * ((h >> 16) % 100) / 100) * look.scale
        feet = float(frame.ground[int(np.clip(cx, 0, frame.w - 1))]) + height * 0.02
        sw = height * 0.22
        shadow = lerp(st.ground, (0, 0, 0), 0.4)
        draw.ellipse((cx - sw, feet - sw * 0.12, cx + sw, feet + sw * 0.12), fill=shadow)
        xs = 0.85 + 0.35 * ((h >> 24) % 100) / 100
        if look.described:
            ops = person_ops(h, look, face=height / 2 * HEAD_R >= _FACE_MIN_PX)
            colors = person_colors(frame, h, look)
            xs = 0.9 + 0.15 * ((h >> 24) % 100) / 100
        else:
            ops, colors = _figure_ops(h), {"+": st.figure, "*": st.accent}
        rim_dx = math.copysign(max(1.0, height * 0.012), frame.sun[0] - cx)
        rim = dict.fromkeys(colors, st.rim)
        stamp(frame, ops, cx + rim_dx, feet - height / 2 - 1, height, rim, xscale=xs)
        stamp(frame, ops, cx, feet - height / 2, height, colors, xscale=xs)
