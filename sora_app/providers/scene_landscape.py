"""Landscape layers of a scene: ridges, skyline, fog and the foreground ground line.

Works on a `Frame` at working resolution; the renderer upscales afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from sora_app.providers import scene_layers as L
from sora_app.providers.scene_moods import NEUTRAL, Mood
from sora_app.providers.scene_styles import RGB, StyleDef


@dataclass
class Frame:
    """Shared drawing state for one scene at working resolution."""

    img: Image.Image
    style: StyleDef
    rng: np.random.Generator
    horizon: float
    ground_y: float
    sky_top: float
    sun: tuple[float, float]
    ground: np.ndarray | None = None
    """Per-column y of the foreground ground line, set by `draw_ground`."""
    mood: Mood = NEUTRAL
    """The genre's mood: celestial kind, weather, set pieces and figure lighting."""

    @property
    def w(self) -> int:
        return self.img.width

    @property
    def h(self) -> int:
        return self.img.height

    @property
    def unit(self) -> float:
        """min(w, h): sizes scale with it so 9:16, 16:9 and 1:1 all compose alike."""
        return float(min(self.w, self.h))

    @property
    def px(self) -> int:
        """One 'line width' unit, ~1 px per 540 px of the short side."""
        return max(1, round(self.unit / 540))


def lerp(a: RGB, b: RGB, t: float) -> RGB:
    """Blend two palette colours (atmospheric perspective, lit windows)."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def ridges(frame: Frame) -> None:
    """Far-to-near landscape layers, fading into the haze colour with distance."""
    st, rng, u = frame.style, frame.rng, frame.unit
    n = max(1, st.layers)
    draw = ImageDraw.Draw(frame.img)
    for k in range(n):
        depth = (k + 1) / (n + 1)
        color = lerp(st.haze, st.land, depth**0.9 * 0.85)
        base = frame.horizon + (frame.ground_y - frame.horizon) * 0.55 * k / max(1, n)
        if st.landscape == "city":
            _skyline(frame, draw, base, color, depth)
            continue
        amp = {"mountains": 0.2, "jagged": 0.24, "hills": 0.08, "plain": 0.05}.get(
            st.landscape, 0.12
        ) * u * (1.2 - 0.5 * depth)  # fmt: skip
        rough = {"mountains": 0.52, "jagged": 0.62, "hills": 0.3, "plain": 0.2}.get(st.landscape)
        prof = L.ridge_profile(rng, frame.w, rough or 0.4, octaves=3 if rough == 0.2 else 6)
        if st.landscape in ("jagged", "mountains"):
            prof = 1.0 - 2.0 * np.abs(prof) if st.landscape == "jagged" else prof
        ys = base - amp * (0.6 + 0.5 * prof)
        _fill_profile(frame, draw, ys, color)
        if st.landscape == "spires" and k == n - 2:
            castle(frame, draw, ys, lerp(color, st.land, 0.4))


def _fill_profile(frame: Frame, draw: ImageDraw.ImageDraw, ys: np.ndarray, color: RGB) -> None:
    """Fill everything below a per-column ridgeline; outline it for inked styles."""
    step = max(1, frame.w // 180)
    pts = [(float(x), float(ys[x])) for x in range(0, frame.w, step)]
    pts.append((frame.w - 1.0, float(ys[-1])))
    frame.img.paste(color, (0, 0), _smooth_mask(frame, pts))
    if frame.style.outline:
        draw.line(pts, fill=(12, 12, 20), width=frame.style.outline * frame.px, joint="curve")


def _smooth_mask(frame: Frame, pts: list[tuple[float, float]]) -> Image.Image:
    """Region below a ridgeline, drawn at 2x and reduced so the edge is anti-aliased."""
    mask = Image.new("L", (frame.w * 2, frame.h * 2), 0)
    poly = [(0, frame.h * 2), *((x * 2, y * 2) for x, y in pts), (frame.w * 2, frame.h * 2)]
    ImageDraw.Draw(mask).polygon(poly, fill=255)
    return mask.reduce(2)


def _skyline(frame: Frame, draw: ImageDraw.ImageDraw, base: float, color: RGB, depth: float):
    """Blocky towers with lit windows and antennae (cyberpunk)."""
    st, rng, u = frame.style, frame.rng, frame.unit
    x = -rng.uniform(0, u * 0.05)
    neon = (st.accent, st.haze, st.sun)
    while x < frame.w:
        bw = u * rng.uniform(0.05, 0.13) * (1.3 - depth * 0.5)
        bh = u * rng.uniform(0.08, 0.3) * (1.2 - depth * 0.6)
        top = base - bh
        draw.rectangle((x, top, x + bw, frame.h), fill=color)
        if rng.random() < 0.3:
            draw.line((x + bw / 2, top, x + bw / 2, top - u * 0.06), fill=color, width=frame.px)
        cell = max(3.0, u * 0.016)
        for wy in np.arange(top + cell, base + u * 0.2, cell * 1.6):
            for wx in np.arange(x + cell * 0.6, x + bw - cell, cell * 1.4):
                if rng.random() < 0.22 * depth + 0.04:
                    col = lerp(color, neon[int(rng.integers(0, 3))], 0.35 + 0.5 * depth)
                    draw.rectangle((wx, wy, wx + cell * 0.6, wy + cell * 0.7), fill=col)
        x += bw + u * rng.uniform(0.0, 0.02)


def castle(frame: Frame, draw: ImageDraw.ImageDraw, ys: np.ndarray, color: RGB) -> None:
    """A cluster of spired towers on a ridge (fantasy)."""
    rng, u = frame.rng, frame.unit
    cx = frame.w * rng.uniform(0.3, 0.7)
    for i in range(7):
        tx = cx + (i - 3) * u * 0.045 + rng.uniform(-0.01, 0.01) * u
        ground = float(ys[int(np.clip(tx, 0, frame.w - 1))]) + u * 0.02
        tw, th = (
            u * rng.uniform(0.025, 0.045),
            u * (0.28 - abs(i - 3) * 0.05) * rng.uniform(0.8, 1.1),
        )
        draw.rectangle((tx - tw / 2, ground - th, tx + tw / 2, ground), fill=color)
        draw.polygon([(tx - tw * 0.75, ground - th), (tx, ground - th - tw * 2.6),
                      (tx + tw * 0.75, ground - th)], fill=color)  # fmt: skip
        wy = ground - th * 0.7
        draw.rectangle((tx - tw * 0.15, wy, tx + tw * 0.15, wy + tw * 0.5), fill=frame.style.accent)


def atmosphere(frame: Frame, arr: np.ndarray) -> np.ndarray:
    """Drifting fog around the horizon, in numpy so it can be soft and uneven."""
    if "fog" not in frame.style.extras:
        return arr
    h, w = arr.shape[:2]
    noise = L.smooth_noise(frame.rng, w, h, 4, 3)
    ys = np.arange(h, dtype=np.float32)[:, None]
    band = np.exp(-(((ys - frame.horizon) / (frame.unit * 0.12)) ** 2))
    return L.mix(arr, np.clip(noise * 1.3 - 0.2, 0.0, 1.0) * band * 0.7, frame.style.haze)


def draw_ground(frame: Frame) -> None:
    """Foreground floor: a gentle rise filled with a smooth gradient (subtitles sit on it)."""
    st, u = frame.style, frame.unit
    prof = L.ridge_profile(frame.rng, frame.w, 0.3, octaves=3)
    ys = frame.ground_y - u * 0.025 * (1 + prof)
    frame.ground = ys
    step = max(1, frame.w // 120)
    pts = [(float(x), float(ys[x])) for x in range(0, frame.w, step)] + [(frame.w, float(ys[-1]))]
    mask = _smooth_mask(frame, pts)
    top = int(ys.min())
    stops = (st.ground,) * 2 if st.landscape == "plain" else (st.land, st.ground, st.ground)
    grad = L.gradient(frame.w, frame.h - top, stops)
    floor = Image.new("RGB", frame.img.size)
    floor.paste(L.to_image(grad), (0, top))
    frame.img.paste(floor, (0, 0), mask)
    draw = ImageDraw.Draw(frame.img)
    if st.outline:
        draw.line(pts, fill=(12, 12, 20), width=st.outline * frame.px)
    if "grid" in st.extras:
        _grid(frame, draw, top)
    if "trees" in st.extras:
        for x in frame.rng.uniform(0.05, 0.95, 3) * frame.w:
            dead_tree(frame, draw, x, float(ys[int(x)]), u * 0.09, -math.pi / 2, 5)


def _grid(frame: Frame, draw: ImageDraw.ImageDraw, top: int) -> None:
    """Neon perspective floor that fades out before the subtitle band."""
    st, w, h = frame.style, frame.w, frame.h
    fade_end = h * 0.84
    for i in range(1, 12):
        y = top + (fade_end - top) * (i / 11) ** 1.8
        t = 1 - (y - top) / (fade_end - top)
        draw.line((0, y, w, y), fill=lerp(st.ground, st.accent, 0.7 * t), width=frame.px)
    vx = w / 2
    for i in range(-10, 11):
        for s in range(8):
            f0, f1 = s / 8, (s + 1) / 8
            y0, y1 = top + (fade_end - top) * f0, top + (fade_end - top) * f1
            x0, x1 = vx + i * w * 0.12 * f0, vx + i * w * 0.12 * f1
            draw.line((x0, y0, x1, y1), fill=lerp(st.ground, st.accent, 0.7 * (1 - f0)))


def dead_tree(frame, draw, x: float, y: float, length: float, angle: float, depth: int):
    """Recursive bare branches: a few dozen line segments, no per-pixel work."""
    x2, y2 = x + length * math.cos(angle), y + length * math.sin(angle)
    draw.line((x, y, x2, y2), fill=frame.style.ground, width=max(1, int(depth * frame.px * 0.9)))
    if depth > 1:
        spread = frame.rng.uniform(0.3, 0.6)
        for da in (-spread, spread * 0.8):
            dead_tree(frame, draw, x2, y2, length * 0.72, angle + da, depth - 1)
