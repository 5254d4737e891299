"""Genre set pieces: what tells horror from history at a glance (graves, columns, domes...).

Three layers, called by the renderer at the right depth: `sky` (behind the landscape),
`far` (on the horizon, hazy) and `near` (on the ground line, kept clear of the figures).
Each piece is seeded from the scene, so scenes of one story vary but re-renders do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PIL import ImageDraw

from sora_app.providers import scene_layers as L
from sora_app.providers import scene_prop_shapes as P
from sora_app.providers.scene_figures import spread
from sora_app.providers.scene_landscape import Frame, castle, dead_tree, lerp
from sora_app.providers.scene_paint import INK, stamp
from sora_app.providers.scene_shapes import GROUND_SHAPES, SKY_SHAPES, Ops
from sora_app.providers.scene_sky import celestial_kind
from sora_app.providers.scene_styles import RGB, stable_hash

Taken = list[tuple[float, float]]


def _rng(name: str, key: int) -> np.random.Generator:
    """Each piece its own stream, so adding one never reshuffles the others."""
    return np.random.default_rng(stable_hash("prop", name, key))


def _colors(frame: Frame) -> tuple[RGB, ...]:
    """The genre's playful colours, or the style's lights when the genre names none."""
    st = frame.style
    return frame.mood.colors or (st.accent, st.sun, st.rim)


def glow(frame: Frame, x: float, y: float, radius: float, color: RGB, strength: float) -> None:
    """Screen a soft light around a point, computed only on the pixels it can reach."""
    x0, y0 = max(0, int(x - 2.5 * radius)), max(0, int(y - 2.5 * radius))
    x1, y1 = min(frame.w, int(x + 2.5 * radius)), min(frame.h, int(y + 2.5 * radius))
    if x1 <= x0 or y1 <= y0:
        return
    box = (x0, y0, x1, y1)
    arr = L.to_array(frame.img.crop(box))
    mask = L.radial(x1 - x0, y1 - y0, x - x0, y - y0, radius)
    frame.img.paste(L.to_image(L.screen(arr, mask, color, strength)), box[:2])


def _in_sky(
    frame: Frame, rng: np.random.Generator, taken: Taken, size: float
) -> tuple[float, float]:
    """A free spot in the sky band (caption band to horizon), away from what is there."""
    box = (size * 0.6, frame.sky_top + size * 0.6, frame.w - size * 0.6,
           frame.horizon - size * 0.8)  # fmt: skip
    spot = spread(rng, taken, box)
    taken.append(spot)
    return spot


def _on_ground(
    frame: Frame, rng: np.random.Generator, taken: Taken, size: float
) -> tuple[float, float]:
    """A ground-line x away from figures and other pieces, and the ground y there."""
    x, _ = spread(rng, taken, (size * 0.4, 0, frame.w - size * 0.4, 0), tries=12)
    taken.append((x, 0.0))
    return x, float(frame.ground[int(np.clip(x, 0, frame.w - 1))])


# Sky pieces -------------------------------------------------------------------------------
def _flying(shape: Callable[[int], Ops], count: tuple[int, int], size: float, lit: bool):
    """Pieces that float or fly in the sky band (flocks, craft, icons, lanterns)."""

    def draw(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
        st, u = frame.style, frame.unit
        for i in range(int(rng.integers(count[0], count[1] + 1))):
            s = min(u * size * rng.uniform(0.7, 1.15), (frame.horizon - frame.sky_top) * 0.45)
            x, y = _in_sky(frame, rng, taken, s)
            body = lerp(st.figure, st.haze, 0.25)
            light = _colors(frame)[i % len(_colors(frame))] if lit else st.accent
            paint = {"+": body, "*": light, "k": body}
            stamp(
                frame, shape(int(rng.integers(0, 99))), x, y, s, paint, glow=light if lit else None
            )

    return draw


def _balloons(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """A bunch of balloons drifting on one side of the sky."""
    colors, u = _colors(frame), frame.unit
    x, y = _in_sky(frame, rng, taken, u * 0.3)
    for i in range(int(rng.integers(3, 6))):
        bx, by = x + rng.uniform(-0.12, 0.12) * u, y + rng.uniform(-0.08, 0.1) * u
        col = colors[int(rng.integers(0, len(colors)))]
        paint = {"+": col, "*": lerp(col, (255, 255, 255), 0.6), "k": lerp(col, INK, 0.5)}
        stamp(frame, P.balloon(i), bx, by, u * rng.uniform(0.09, 0.13), paint)


def _lanterns(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """Glowing paper lanterns (some heart-shaped) rising through the sky."""
    colors, u = _colors(frame), frame.unit
    for i in range(int(rng.integers(4, 7))):
        x = rng.uniform(0.05, 0.95) * frame.w
        y = rng.uniform(frame.sky_top + u * 0.05, frame.horizon - u * 0.05)
        s = u * rng.uniform(0.05, 0.09) * (0.7 + 0.5 * (y - frame.sky_top) / frame.h)
        col = lerp(colors[i % len(colors)], (255, 236, 200), 0.35)
        glow(frame, x, y, s * 1.2, col, 0.6)
        stamp(frame, P.paper_lantern(i), x, y, s, {"*": col, "+": lerp(col, INK, 0.5)})


def _bunting(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """A string of party flags sagging across the top of the sky."""
    colors, u, w = _colors(frame), frame.unit, frame.w
    draw = ImageDraw.Draw(frame.img)
    y0, sag = frame.sky_top + u * rng.uniform(0.02, 0.05), u * rng.uniform(0.06, 0.1)
    n, flag = 14, u * 0.045
    pts = [(w * i / n, y0 + sag * (1 - (2 * i / n - 1) ** 2)) for i in range(n + 1)]
    draw.line(pts, fill=lerp(frame.style.figure, (255, 255, 255), 0.3), width=frame.px)
    for i in range(n):
        (ax, ay), (bx, by) = pts[i], pts[i + 1]
        mx, my = (ax + bx) / 2, (ay + by) / 2
        draw.polygon([(mx - flag * 0.55, my), (mx + flag * 0.55, my), (mx, my + flag * 1.2)],
                     fill=colors[i % len(colors)])  # fmt: skip


def _sun_face(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """Comedy's sun smiles."""
    if celestial_kind(frame) != "sun" or frame.style.celestial == "neon":
        return
    (cx, cy), r = frame.sun, frame.unit * (0.2 if frame.style.celestial == "disc" else 0.07)
    ink, draw = lerp(frame.style.sun, INK, 0.75), ImageDraw.Draw(frame.img)
    for s in (-1, 1):
        ex, ey, er = cx + s * 0.32 * r, cy - 0.18 * r, 0.11 * r
        draw.ellipse((ex - er, ey - er, ex + er, ey + er), fill=ink)
    box = (cx - 0.5 * r, cy - 0.3 * r, cx + 0.5 * r, cy + 0.55 * r)
    draw.arc(box, 20, 160, fill=ink, width=max(1, int(0.09 * r)))


def _far_peaks(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """Big snowy mountains behind the landscape: somewhere to go."""
    st, u = frame.style, frame.unit
    for i in range(int(rng.integers(2, 4))):
        s = u * rng.uniform(0.35, 0.55)
        x = frame.w * (i + rng.uniform(0.2, 0.8)) / 3
        paint = (lerp(st.haze, st.land, 0.35), lerp(st.sky[-1], (255, 255, 255), 0.75))
        stamp(frame, GROUND_SHAPES["peak"](i), x, frame.horizon + u * 0.02 - s / 2, s, paint)


# Far pieces -------------------------------------------------------------------------------
def _far(shape: Callable[[int], Ops], count: tuple[int, int], size: tuple[float, float]):
    """Pieces standing on the horizon in the haze: domes, masts, monuments, a lit house."""

    def draw(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
        st, u = frame.style, frame.unit
        base = frame.horizon + (frame.ground_y - frame.horizon) * 0.22
        for _ in range(int(rng.integers(count[0], count[1] + 1))):
            s = u * rng.uniform(*size)
            x, _ = spread(rng, taken, (s * 0.5, 0, frame.w - s * 0.5, 0), tries=10)
            taken.append((x, 0.0))
            body = lerp(st.haze, st.land, 0.7)
            stamp(frame, shape(int(rng.integers(0, 99))), x, base - s / 2, s, (body, st.accent))

    return draw


def _castle(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """Fantasy's castle on the horizon, unless the style already built one."""
    if frame.style.landscape == "spires":
        return
    base = frame.horizon + (frame.ground_y - frame.horizon) * 0.2
    ys = np.full(frame.w, base, dtype=np.float32)
    st = frame.style
    castle(frame, ImageDraw.Draw(frame.img), ys, lerp(st.haze, st.land, 0.6))


def _monument(v: int) -> Ops:
    return P.pyramid(v) if v % 3 else P.obelisk(v)


def _police_lights(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """Red and blue light washing in from the frame's edges."""
    u, y = frame.unit, frame.horizon + (frame.ground_y - frame.horizon) * 0.4
    glow(frame, 0, y, u * 0.3, (255, 40, 50), 0.55)
    glow(frame, frame.w, y, u * 0.3, (40, 90, 255), 0.6)


# Near pieces ------------------------------------------------------------------------------
def _standing(shape: Callable[[int], Ops], count: tuple[int, int], size: tuple[float, float],
              tone: float, light: RGB | None = None):  # fmt: skip
    """Pieces on the ground line (graves, columns, pines, blossom), clear of the figures."""

    def draw(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
        st, u = frame.style, frame.unit
        for _ in range(int(rng.integers(count[0], count[1] + 1))):
            s = u * rng.uniform(*size)
            x, y = _on_ground(frame, rng, taken, s)
            body = lerp(st.figure, st.haze, tone)
            lit = light or (_colors(frame)[1] if frame.mood.colors else st.accent)
            stamp(frame, shape(int(rng.integers(0, 99))), x, y + s * 0.03 - s / 2, s, (body, lit))

    return draw


def _dead_trees(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    draw = ImageDraw.Draw(frame.img)
    for _ in range(int(rng.integers(2, 4))):
        x, y = _on_ground(frame, rng, taken, frame.unit * 0.2)
        dead_tree(frame, draw, x, y, frame.unit * rng.uniform(0.08, 0.12), -math.pi / 2, 5)


def _streetlamp(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """A lamp post with a pool of warm light around its head and on the ground."""
    st, s = frame.style, frame.unit * rng.uniform(0.42, 0.5)
    x, y = _on_ground(frame, rng, taken, s * 0.5)
    top = y - s * 0.86
    glow(frame, x, top, s * 0.28, st.accent, 0.75)
    glow(frame, x, y, s * 0.25, st.accent, 0.3)
    stamp(
        frame, P.streetlamp(0), x, y - s / 2, s, (st.figure, lerp(st.accent, (255, 255, 255), 0.5))
    )


def _tape(frame: Frame, rng: np.random.Generator, taken: Taken) -> None:
    """Crime-scene tape strung across the foreground."""
    u, w = frame.unit, frame.w
    y0 = frame.ground_y - u * rng.uniform(0.08, 0.13)
    y1 = y0 + u * rng.uniform(-0.05, 0.05)
    band = u * 0.022
    draw = ImageDraw.Draw(frame.img)
    draw.polygon([(0, y0), (w, y1), (w, y1 + band), (0, y0 + band)], fill=(236, 196, 20))
    for i in range(0, 24):
        x = w * (i + 0.3) / 24
        yy = y0 + (y1 - y0) * x / w
        top, low = yy + band * 0.2, yy + band * 0.8
        stripe = [(x, top), (x + band * 0.8, top), (x + band * 0.5, low), (x - band * 0.3, low)]
        draw.polygon(stripe, fill=INK)


Drawer = Callable[[Frame, np.random.Generator, Taken], None]
SKY: dict[str, Drawer] = {
    "crows": _flying(SKY_SHAPES["birds"], (1, 2), 0.12, lit=False),
    "birds": _flying(SKY_SHAPES["birds"], (1, 2), 0.09, lit=False),
    "spacecraft": _flying(P.spacecraft, (1, 2), 0.13, lit=False),
    "floating_island": _flying(P.floating_island, (1, 2), 0.2, lit=False),
    "bulb": _flying(P.bulb, (1, 1), 0.12, lit=True),
    "atom": _flying(P.atom, (1, 1), 0.13, lit=True),
    "gear": _flying(P.gear, (1, 1), 0.1, lit=True),
    "balloons": _balloons, "heart_lanterns": _lanterns, "bunting": _bunting,
    "sun_face": _sun_face, "far_peaks": _far_peaks,
}  # fmt: skip
FAR: dict[str, Drawer] = {
    "castle": _castle, "police_lights": _police_lights,
    "domes": _far(P.dome, (2, 3), (0.1, 0.18)), "antennas": _far(P.antenna, (1, 2), (0.2, 0.3)),
    "monuments": _far(_monument, (1, 2), (0.22, 0.36)),
    "lit_house": _far(GROUND_SHAPES["house"], (1, 1), (0.12, 0.16)),
    "summit_flag": _far(P.summit_flag, (1, 1), (0.26, 0.34)),
}  # fmt: skip
NEAR: dict[str, Drawer] = {
    "dead_trees": _dead_trees, "streetlamp": _streetlamp, "tape": _tape,
    "graves": _standing(P.grave, (3, 5), (0.05, 0.085), 0.22),
    "columns": _standing(P.column, (2, 3), (0.24, 0.34), 0.3),
    "pines": _standing(P.pine, (3, 5), (0.12, 0.22), 0.3),
    "blossom_tree": _standing(P.blossom, (1, 2), (0.34, 0.44), 0.05),
}  # fmt: skip


def draw_layer(
    frame: Frame, layer: dict[str, Drawer], key: int, avoid: Sequence[float] = ()
) -> None:
    """Draw the genre's pieces that belong to this layer, in the mood's order."""
    taken: Taken = [frame.sun] if layer is SKY else [(x, 0.0) for x in avoid]
    for name in frame.mood.props + (frame.mood.weather or ()):
        if name in layer:
            layer[name](frame, _rng(name, key), taken)
