"""Genre weather and light: aurora, overcast, god rays, rain, confetti, petals, fireflies...

`sky` runs after the celestial body and before the landscape; `front` runs last, over the
figures, and stops at the ground line so the subtitle band stays calm. Particles are drawn
into one 8-bit mask per colour and pasted once, which keeps hundreds of drops cheap.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from sora_app.providers import scene_layers as L
from sora_app.providers.scene_landscape import Frame, lerp
from sora_app.providers.scene_styles import RGB

WHITE: RGB = (255, 255, 255)


def _rows(frame: Frame) -> np.ndarray:
    """Row coordinates as a column vector, to broadcast vertical bands over the frame."""
    return np.arange(frame.h, dtype=np.float32)[:, None]


def _aurora(frame: Frame, arr: np.ndarray) -> np.ndarray:
    """Curtains of light: a wavy band, sharp at the bottom, fading upwards, streaked."""
    w, u, rng = frame.w, frame.unit, frame.rng
    xs = np.arange(w, dtype=np.float32)[None, :] / w * 2 * math.pi
    p = rng.uniform(0, 2 * math.pi, 3)
    band = frame.horizon - frame.sky_top
    centre = frame.sky_top + band * (
        0.45 + 0.15 * np.sin(1.3 * xs + p[0]) + 0.06 * np.sin(3.7 * xs + p[1])
    )
    d = (_rows(frame) - centre) / (u * 0.12)
    curtain = np.where(d > 0, np.exp(-((d * 3) ** 2)), np.exp(-((d * 0.6) ** 2)))
    streaks = 0.55 + 0.45 * np.sin(xs * 23 + 2 * np.sin(xs * 5 + p[2])) ** 2
    arr = L.screen(arr, curtain * streaks, lerp((90, 255, 170), frame.style.accent, 0.2), 0.6)
    upper = np.exp(-(((_rows(frame) - centre + u * 0.2) / (u * 0.12)) ** 2)) * streaks
    return L.screen(arr, upper, (190, 110, 255), 0.35)


def _overcast(frame: Frame, arr: np.ndarray) -> np.ndarray:
    """A heavy, low cloud deck that swallows the sky."""
    noise = L.smooth_noise(frame.rng, frame.w, frame.h, 3, 4)
    fade = np.clip((frame.horizon + frame.unit * 0.05 - _rows(frame)) / (frame.unit * 0.1), 0, 1)
    mask = np.clip((noise - 0.3) * 2.2, 0.0, 0.85) * fade
    st = frame.style
    return L.mix(arr, mask, lerp(st.sky[1], st.haze, 0.35))


def _veil(frame: Frame, arr: np.ndarray) -> np.ndarray:
    """Thin, stretched clouds drifting across the sky and the moon."""
    grid = frame.rng.random((9, 3), dtype=np.float32)
    noise = np.asarray(
        Image.fromarray(grid, "F").resize((frame.w, frame.h), Image.Resampling.BICUBIC)
    )
    sky_only = np.clip((frame.horizon - _rows(frame)) / (frame.unit * 0.1), 0, 1)
    mask = np.clip((noise - 0.5) * 2.0, 0.0, 0.55) * sky_only
    return L.mix(arr, mask, lerp(frame.style.haze, frame.style.sky[0], 0.3))


def _haze_glow(frame: Frame, arr: np.ndarray) -> np.ndarray:
    """A neon glow along the horizon (city lights, a reactor, another sun)."""
    band = np.exp(-(((_rows(frame) - frame.horizon) / (frame.unit * 0.1)) ** 2))
    return L.screen(arr, np.broadcast_to(band, arr.shape[:2]), frame.style.accent, 0.45)


def _god_rays(frame: Frame) -> None:
    """Soft beams fanning out of the sun, blurred at quarter size so they cost little."""
    q = 4
    small = Image.new("L", (frame.w // q + 1, frame.h // q + 1), 0)
    draw = ImageDraw.Draw(small)
    cx, cy = frame.sun[0] / q, frame.sun[1] / q
    far = frame.unit * 3 / q
    for _ in range(14):
        a = frame.rng.uniform(0, 2 * math.pi)
        da = frame.rng.uniform(0.04, 0.12)
        pts = [(cx, cy), (cx + far * math.cos(a), cy + far * math.sin(a)),
               (cx + far * math.cos(a + da), cy + far * math.sin(a + da))]  # fmt: skip
        draw.polygon(pts, fill=int(frame.rng.integers(60, 140)))
    mask = small.filter(ImageFilter.BoxBlur(3)).resize(frame.img.size, Image.Resampling.BILINEAR)
    frame.img.paste(frame.style.sun, (0, 0), mask.point(lambda v: v * 0.6))


def _shooting_stars(frame: Frame) -> None:
    """A few meteors, each a streak brightening towards its head."""
    draw, rng, u = ImageDraw.Draw(frame.img), frame.rng, frame.unit
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0.1, 0.9) * frame.w, rng.uniform(frame.sky_top, frame.horizon - u * 0.1)
        length, a = u * rng.uniform(0.12, 0.25), rng.uniform(0.3, 0.7)
        for k in range(8):
            t0, t1 = k / 8, (k + 1) / 8
            col = lerp(frame.style.sky[0], WHITE, 0.3 + 0.7 * t1)
            draw.line((x - length * (1 - t0) * math.cos(a), y - length * (1 - t0) * math.sin(a),
                       x - length * (1 - t1) * math.cos(a), y - length * (1 - t1) * math.sin(a)),
                      fill=col, width=frame.px)  # fmt: skip


def sky(frame: Frame) -> None:
    """Sky weather, after the celestial body so clouds can cross it."""
    has = frame.mood.has
    if has("aurora") or has("overcast") or has("veil") or has("haze_glow"):
        arr = L.to_array(frame.img)
        for name, fn in (("aurora", _aurora), ("overcast", _overcast), ("veil", _veil),
                         ("haze_glow", _haze_glow)):  # fmt: skip
            if has(name):
                arr = fn(frame, arr)
        frame.img = L.to_image(arr)
    if has("god_rays"):
        _god_rays(frame)
    if has("shooting_stars"):
        _shooting_stars(frame)


def _particles(frame: Frame, n: int, top: float, paint) -> None:
    """Scatter n particles between `top` and the ground line; `paint(draw, x, y, i)` draws one."""
    draw = ImageDraw.Draw(frame.img)
    bottom = frame.ground_y - frame.unit * 0.02
    for i in range(n):
        x, y = frame.rng.uniform(0, frame.w), frame.rng.uniform(top, bottom)
        paint(draw, x, y, i)


def _rain(frame: Frame) -> None:
    """Slanted streaks through a mask, so drops are translucent over the scene."""
    mask = Image.new("L", frame.img.size, 0)
    draw, rng, u = ImageDraw.Draw(mask), frame.rng, frame.unit
    length = u * 0.04
    bottom = frame.ground_y - u * 0.02
    for _ in range(int(frame.w * frame.h / 600)):
        x, y = rng.uniform(-0.1, 1.0) * frame.w, rng.uniform(frame.sky_top * 0.5, bottom)
        s = rng.uniform(0.6, 1.2)
        draw.line((x, y, x + length * 0.22 * s, y + length * s), fill=int(rng.integers(50, 130)),
                  width=frame.px)  # fmt: skip
    frame.img.paste(lerp(frame.style.haze, WHITE, 0.55), (0, 0), mask)


def _confetti(frame: Frame) -> None:
    """Tumbling paper rectangles in the genre's party colours."""
    colors, u = frame.mood.colors or (frame.style.accent,), frame.unit

    def piece(draw: ImageDraw.ImageDraw, x: float, y: float, i: int) -> None:
        a, s = frame.rng.uniform(0, math.pi), u * frame.rng.uniform(0.008, 0.014)
        dx, dy, ex, ey = (
            s * math.cos(a),
            s * math.sin(a),
            -s * 0.5 * math.sin(a),
            s * 0.5 * math.cos(a),
        )
        quad = [(x - dx - ex, y - dy - ey), (x + dx - ex, y + dy - ey),
                (x + dx + ex, y + dy + ey), (x - dx + ex, y - dy + ey)]  # fmt: skip
        draw.polygon(quad, fill=colors[i % len(colors)])

    _particles(frame, int(frame.w * frame.h / 4000), frame.sky_top, piece)


def _petals(frame: Frame) -> None:
    """Drifting blossom petals: small tilted ellipses in the genre's pinks."""
    colors, u = frame.mood.colors or (frame.style.accent,), frame.unit

    def petal(draw: ImageDraw.ImageDraw, x: float, y: float, i: int) -> None:
        a, s = frame.rng.uniform(0, math.pi), u * frame.rng.uniform(0.008, 0.016)
        pts = [(x + s * math.cos(t) * math.cos(a) - 0.5 * s * math.sin(t) * math.sin(a),
                y + s * math.cos(t) * math.sin(a) + 0.5 * s * math.sin(t) * math.cos(a))
               for t in (2 * math.pi * k / 10 for k in range(10))]  # fmt: skip
        draw.polygon(pts, fill=colors[i % len(colors)])

    _particles(frame, int(frame.w * frame.h / 7000), frame.sky_top, petal)


def _lights(
    frame: Frame, n: int, top: float, color: RGB, size: tuple[float, float], blur: float
) -> None:
    """Glowing points (bokeh, fireflies, dust motes): a dot mask plus its blurred halo."""
    mask = Image.new("L", frame.img.size, 0)
    draw, rng, u = ImageDraw.Draw(mask), frame.rng, frame.unit
    for _ in range(n):
        x, y = rng.uniform(0, frame.w), rng.uniform(top, frame.ground_y - u * 0.03)
        r = u * rng.uniform(*size)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(70, 200)))
    q = 4
    halo = mask.resize((frame.w // q + 1, frame.h // q + 1), Image.Resampling.BOX)
    halo = halo.filter(ImageFilter.GaussianBlur(u * blur / q)).resize(
        frame.img.size, Image.Resampling.BILINEAR
    )
    frame.img.paste(color, (0, 0), halo.point(lambda v: min(255, v * 3)))
    frame.img.paste(lerp(color, WHITE, 0.5), (0, 0), mask)


def _bokeh(frame: Frame) -> None:
    """Out-of-focus lights: a few large translucent discs, brighter towards their rims."""
    mask = Image.new("L", frame.img.size, 0)
    draw, rng, u = ImageDraw.Draw(mask), frame.rng, frame.unit
    for _ in range(int(rng.integers(7, 12))):
        x, y = rng.uniform(0, frame.w), rng.uniform(frame.sky_top, frame.horizon + u * 0.1)
        r = u * rng.uniform(0.02, 0.05)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(40, 90)),
                     outline=int(rng.integers(90, 130)), width=frame.px)  # fmt: skip
    mask = mask.filter(ImageFilter.BoxBlur(frame.px))
    frame.img.paste(lerp(frame.style.sun, WHITE, 0.3), (0, 0), mask)


def _mist(frame: Frame) -> None:
    """Low ground mist curling around the figures' feet, computed only on its band of rows."""
    u, centre = frame.unit, frame.ground_y - frame.unit * 0.04
    top, bottom = max(0, int(centre - u * 0.22)), min(frame.h, int(centre + u * 0.22))
    if bottom - top < 2:
        return
    box = (0, top, frame.w, bottom)
    arr = L.to_array(frame.img.crop(box))
    noise = L.smooth_noise(frame.rng, frame.w, bottom - top, 5, 2)
    rows = np.arange(top, bottom, dtype=np.float32)[:, None]
    band = np.exp(-(((rows - centre) / (u * 0.07)) ** 2))
    color = lerp(frame.style.haze, WHITE, 0.25)
    mist = L.mix(arr, np.clip(noise * 1.4 - 0.25, 0, 1) * band * 0.7, color)
    frame.img.paste(L.to_image(mist), box[:2])


def front(frame: Frame) -> None:
    """Foreground weather over everything but the caption and the subtitle band."""
    has, st, u = frame.mood.has, frame.style, frame.unit
    if has("mist"):
        _mist(frame)
    if has("rain"):
        _rain(frame)
    if has("confetti"):
        _confetti(frame)
    if has("petals"):
        _petals(frame)
    if has("bokeh"):
        _bokeh(frame)
    if has("fireflies"):
        _lights(frame, 40, frame.horizon - u * 0.25, (230, 255, 140), (0.003, 0.006), 0.025)
    if has("dust"):
        _lights(frame, 70, frame.sky_top, lerp(st.sun, WHITE, 0.3), (0.002, 0.004), 0.012)
