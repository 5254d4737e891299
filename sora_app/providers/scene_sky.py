"""The sky of a scene: gradient, celestial body and the extras that sit behind the landscape.

The genre's mood picks the celestial *kind* (sun, moon, planet, none); the style picks how it
is drawn (a glowing body, a flat minimalist disc, a striped neon sun).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from sora_app.providers import scene_layers as L
from sora_app.providers.scene_landscape import Frame, lerp

GLOW = {"moon": 0.32, "planet": 0.4}
"""Halo strength by celestial kind (0.55 otherwise): moonlight is fainter than the sun."""


def celestial_kind(frame: Frame) -> str:
    """The genre's celestial body, or the style's own when there is no genre."""
    return frame.mood.celestial or frame.style.celestial


def sky(frame: Frame) -> np.ndarray:
    """Gradient sky with the celestial glow, plus watercolour washes where the style asks."""
    st, w, h = frame.style, frame.w, frame.h
    arr = L.gradient(w, h, st.sky, curve=0.9)
    kind = celestial_kind(frame)
    if kind != "none":
        glow = L.radial(w, h, *frame.sun, frame.unit * 0.45)
        arr = L.screen(arr, glow, st.sun, 0.08 if st.celestial == "disc" else GLOW.get(kind, 0.55))
    if "washes" in st.extras:
        # A pale moon's colour would wash a night sky out; night skies wash in their haze.
        light = st.sun if celestial_kind(frame) == "sun" else st.haze
        for color in (st.accent, st.land, light):
            mask = np.clip((L.smooth_noise(frame.rng, w, h, 3, 2) - 0.52) * 3.0, 0.0, 0.45)
            arr = L.mix(arr, mask, color)
    return arr


def celestial(frame: Frame) -> None:
    """Sun, moon or ringed planet (by genre), drawn glowing, flat or neon (by style)."""
    kind, treat = celestial_kind(frame), frame.style.celestial
    if kind == "none":
        return
    if treat == "disc":
        _flat(frame, kind)
    elif kind == "neon" or (kind == "sun" and treat == "neon"):
        _neon(frame)
    elif kind == "moon":
        _moon(frame)
    elif kind == "planet":
        _planet(frame)
    else:
        st, (cx, cy), r = frame.style, frame.sun, frame.unit * 0.07
        ImageDraw.Draw(frame.img).ellipse((cx - r, cy - r, cx + r, cy + r), fill=st.sun)


def _flat(frame: Frame, kind: str) -> None:
    """Minimalist treatment: one big flat disc; a moon is bitten, a planet gets a ring."""
    st, (cx, cy), u = frame.style, frame.sun, frame.unit
    draw = ImageDraw.Draw(frame.img)
    r = u * (0.2 if kind in ("sun", "disc") else 0.15)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=st.sun)
    if kind == "moon":
        bx, by = cx + r * 0.45, cy - r * 0.25
        bite = frame.img.getpixel((int(min(frame.w - 1, bx + r * 1.2)), int(max(0, by))))
        draw.ellipse((bx - r * 0.85, by - r * 0.85, bx + r * 0.85, by + r * 0.85), fill=bite)
    elif kind == "planet":
        draw.ellipse((cx - 1.8 * r, cy - 0.3 * r, cx + 1.8 * r, cy + 0.3 * r), outline=st.accent,
                     width=max(2, int(r * 0.06)))  # fmt: skip


def _neon(frame: Frame) -> None:
    """Synthwave sun: a gradient disc sliced by horizontal gaps in its lower half."""
    st, (cx, cy) = frame.style, frame.sun
    draw = ImageDraw.Draw(frame.img)
    r = frame.unit * 0.17
    for i in range(int(r * 2)):
        y = cy - r + i
        if i > r and (i // max(2, int(r / 9))) % 2:
            continue
        half = math.sqrt(max(0.0, r * r - (y - cy) ** 2))
        draw.line((cx - half, y, cx + half, y), fill=lerp(st.sun, st.haze, i / (2 * r)))


def _moon(frame: Frame) -> None:
    """A pale full moon with a few soft craters."""
    st, (cx, cy) = frame.style, frame.sun
    draw = ImageDraw.Draw(frame.img)
    r = frame.unit * 0.075
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=st.sun)
    for dx, dy, rr in ((-0.3, -0.2, 0.22), (0.25, 0.3, 0.16), (0.35, -0.35, 0.1)):
        x, y, q = cx + dx * r, cy + dy * r, rr * r
        draw.ellipse((x - q, y - q, x + q, y + q), fill=lerp(st.sun, st.haze, 0.35))


def _planet(frame: Frame) -> None:
    """A ringed planet with a shaded face and a small moon beside it."""
    st, (cx, cy), u = frame.style, frame.sun, frame.unit
    draw = ImageDraw.Draw(frame.img)
    r = u * 0.16
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=st.sun)
    draw.ellipse((cx - r * 0.9, cy - r * 0.75, cx + r, cy + r), fill=lerp(st.sun, st.haze, 0.3))
    draw.ellipse((cx - 2.0 * r, cy - 0.3 * r, cx + 2.0 * r, cy + 0.45 * r), outline=st.accent,
                 width=max(2, int(r * 0.07)))  # fmt: skip
    mx, my, mr = cx - u * 0.34, cy - u * 0.12, u * 0.035
    draw.ellipse((mx - mr, my - mr, mx + mr, my + mr), fill=st.accent)


def sky_extras(frame: Frame) -> None:
    """Clouds, stars, sunbursts and rays that sit behind the landscape."""
    st, rng, u, w = frame.style, frame.rng, frame.unit, frame.w
    draw = ImageDraw.Draw(frame.img)
    bottom = frame.horizon
    if "stars" in st.extras:
        for _ in range(int(w * frame.h / 2500)):
            x, y = rng.uniform(0, w), rng.uniform(0, bottom) ** 1.15 / bottom**0.15
            s = rng.choice([0.6, 1.0, 1.0, 1.8]) * frame.px
            draw.ellipse((x - s, y - s, x + s, y + s), fill=lerp(st.sky[-1], (255, 255, 255), 0.8))
    if ("sunburst" in st.extras or "rays" in st.extras) and celestial_kind(frame) == "sun":
        cx, cy = frame.sun
        n = 18 if "sunburst" in st.extras else 28
        col = lerp(st.sky[1], st.sun, 0.35 if "sunburst" in st.extras else 0.18)
        for i in range(0, n * 2, 2):
            a0, a1 = math.pi * i / n, math.pi * (i + 1) / n
            far = u * 3
            pts = [(cx, cy), (cx + far * math.cos(a0), cy + far * math.sin(a0)),
                   (cx + far * math.cos(a1), cy + far * math.sin(a1))]  # fmt: skip
            draw.polygon(pts, fill=col)
    if "clouds" in st.extras:
        _clouds(frame, bottom)


def _clouds(frame: Frame, bottom: float) -> None:
    """Puffy clouds with a shaded underside, drawn into 2x masks for smooth edges."""
    st, rng, u = frame.style, frame.rng, frame.unit
    body = Image.new("L", (frame.w * 2, frame.h * 2), 0)
    shade = Image.new("L", body.size, 0)
    db, ds = ImageDraw.Draw(body), ImageDraw.Draw(shade)
    for _ in range(int(rng.integers(3, 6))):
        cx = rng.uniform(-0.1, 1.1) * frame.w
        cy = rng.uniform(frame.sky_top + u * 0.16, bottom - u * 0.1)
        size = u * rng.uniform(0.08, 0.16)
        for k in range(7):
            ox = (k - 3) * size * 0.42 + rng.uniform(-0.08, 0.08) * size
            r = size * (0.5 + 0.45 * math.cos((k - 3) / 3)) * rng.uniform(0.85, 1.1)
            y = cy - r * 0.4
            box = [2 * v for v in (cx + ox - r, y - r, cx + ox + r, y + min(r, size * 0.5))]
            db.ellipse(box, fill=255)
            ds.ellipse([box[0], box[1] + size * 0.5, box[2], box[3] + size * 0.25], fill=255)
    body, shade = body.reduce(2), shade.reduce(2)
    shade = ImageChops.multiply(shade, body).filter(ImageFilter.GaussianBlur(u * 0.01))
    light = lerp(st.sky[-1], (255, 255, 255), 0.85)
    frame.img.paste(light, (0, 0), body)
    frame.img.paste(lerp(light, st.sky[1], 0.3), (0, 0), shade)
