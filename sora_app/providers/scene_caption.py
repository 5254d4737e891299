"""Caption typography for rendered scenes: a transparent title layer for the top band.

The bottom of the frame belongs to the burned-in subtitles, so captions always sit on top.
The layer is kept apart from the picture: compile lays it over the *moving* picture at a fixed
place, so the pan never slides a title off the frame. Only the band is drawn (not the whole
frame) to keep blur passes cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from sora_app.pipeline.types import Scene
from sora_app.providers.scene_styles import CaptionStyle, load_font

Font = ImageFont.FreeTypeFont
KICKER_TRACKING = 0.14
TOP_MARGIN = 0.1
"""Kicker's top edge as a share of the frame height: inside the 5 % safe margin, and below the
header bar (~8 %) that short-video apps lay over 9:16 videos."""
SIDE_MARGIN = 0.06
"""Text's side margin as a share of the width, plus DECOR_REACH of the short side: boxes,
glows and shadows reach past the glyphs, and all of it stays inside the 5 % safe margin."""
DECOR_REACH = 0.045
MIN_CONTRAST = 110
"""Luma difference (of 255) between text and the picture behind it below which the text gets
a halo: the cinematic style's pale titles vanished on bright daytime skies."""
HALO_BLUR = 0.012


@dataclass(frozen=True)
class _Line:
    x: float
    y: float
    text: str
    font: Font
    tracking: float
    kicker: bool


def text_width(text: str, font: Font, tracking: float) -> float:
    """Rendered width including letter spacing (Pillow has no tracking option)."""
    return font.getlength(text) + tracking * font.size * max(0, len(text) - 1)


def wrap(text: str, font: Font, max_width: float, tracking: float, max_lines: int = 3):
    """Greedy word wrap by measured width; overlong captions end in an ellipsis."""
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(trial, font, tracking) <= max_width:
            lines[-1] = trial
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1 :])]
    if lines and text_width(lines[-1], font, tracking) > max_width:
        while len(lines[-1]) > 1 and text_width(lines[-1] + "…", font, tracking) > max_width:
            lines[-1] = lines[-1][:-1].rstrip()
        lines[-1] += "…"
    return lines


def _layout(size: tuple[int, int], cs: CaptionStyle, scene: Scene, total: int, title: str):
    """Place kicker (title · n / total) and the wrapped caption; returns lines and box."""
    w, h = size
    unit = min(w, h)
    text = scene.caption.strip() or title.strip()
    font = load_font(cs.font, round(unit * cs.size))
    kfont = load_font("Medium", round(unit * cs.size * 0.42))
    margin = w * SIDE_MARGIN + unit * DECOR_REACH
    lines = wrap(text.upper() if cs.upper else text, font, w - 2 * margin, cs.tracking)
    kicker = f"{scene.index + 1:02d} / {max(total, scene.index + 1):02d}"
    if title.strip():
        room = w - 2 * margin - text_width(f"  ·  {kicker}", kfont, KICKER_TRACKING)
        name = wrap(title.strip().upper(), kfont, room, KICKER_TRACKING, max_lines=1)
        kicker = f"{name[0]}  ·  {kicker}" if name and name[0] != "…" else kicker
    top = h * TOP_MARGIN
    items = [(kicker, kfont, KICKER_TRACKING, True)] + [
        (t, font, cs.tracking, False) for t in lines
    ]
    out, y, right, left = [], top, 0.0, float(w)
    for text_, f, tr, is_k in items:
        width = text_width(text_, f, tr)
        x = margin if cs.align == "left" else (w - width) / 2
        out.append(_Line(x, y, text_, f, tr, is_k))
        left, right = min(left, x), max(right, x + width)
        y += f.size * (1.8 if is_k else 1.18)
    return out, (left, top, right, y)


def _draw_lines(draw: ImageDraw.ImageDraw, lines: list[_Line], fill, off: float = 0, **kw):
    """Draw every line, character by character where letter spacing is wanted."""
    for ln in lines:
        colour = (*fill[:3], fill[3] * 3 // 4) if ln.kicker else fill
        extra = {} if ln.kicker else kw
        if not ln.tracking:
            draw.text((ln.x + off, ln.y + off), ln.text, font=ln.font, fill=colour, **extra)
            continue
        x = ln.x + off
        for ch in ln.text:
            draw.text((x, ln.y + off), ch, font=ln.font, fill=colour, **extra)
            x += ln.font.getlength(ch) + ln.tracking * ln.font.size


def _luma(rgb: tuple[int, ...]) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _halo(
    fill: tuple[int, int, int], backdrop: Image.Image, box: tuple[float, float, float, float]
) -> tuple[int, int, int, int] | None:
    """A halo colour when the text's brightness is too close to the picture behind it."""
    x0, y0, x1, y1 = (round(v) for v in box)
    region = backdrop.crop((max(0, x0), max(0, y0), max(x0 + 1, x1), max(y0 + 1, y1)))
    behind = float(np.asarray(region.convert("L"), dtype=np.float32).mean())
    text = _luma(fill)
    if abs(text - behind) >= MIN_CONTRAST:
        return None
    return (0, 0, 0, 210) if text > 128 else (255, 255, 255, 210)


def caption_layer(
    size: tuple[int, int],
    cs: CaptionStyle,
    scene: Scene,
    total: int,
    title: str,
    backdrop: Image.Image | None = None,
) -> Image.Image:
    """Kicker and caption in the style's treatment on a transparent band, full frame width.

    The band starts at the frame's top edge, so laying it at (0, 0) puts the text where the
    layout meant it. With the picture as `backdrop`, text that would barely differ from what
    lies behind it gets a soft halo of the opposite brightness (light type on a bright sky).
    """
    w, h = size
    unit = min(w, h)
    lines, (x0, y0, x1, y1) = _layout(size, cs, scene, total, title)
    band_h = min(h, int(y1 + unit * 0.08))
    layer = Image.new("RGBA", (w, band_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    halo = None if cs.box or backdrop is None else _halo(cs.fill, backdrop, (x0, y0, x1, y1))
    if halo is not None:
        soft = Image.new("RGBA", layer.size, (0, 0, 0, 0))
        _draw_lines(ImageDraw.Draw(soft), lines, halo, stroke_width=max(1, round(unit * 0.006)))
        soft = soft.filter(ImageFilter.GaussianBlur(unit * HALO_BLUR))
        layer = Image.alpha_composite(Image.alpha_composite(layer, soft), soft)
        draw = ImageDraw.Draw(layer)
    if cs.box:
        pad = unit * 0.03
        draw.rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad * 0.3), fill=cs.box,
                       outline=cs.box_border, width=max(2, round(unit * 0.006)))  # fmt: skip
    for colour, blur, repeat in (
        ((0, 0, 0, 160), 0.004, 1) if cs.shadow else (None, 0, 0),
        ((*cs.glow, 255), 0.01, 3) if cs.glow else (None, 0, 0),
    ):
        if colour is None:
            continue
        soft = Image.new("RGBA", layer.size, (0, 0, 0, 0))
        _draw_lines(ImageDraw.Draw(soft), lines, colour, off=unit * 0.004 if repeat == 1 else 0)
        soft = soft.filter(ImageFilter.GaussianBlur(unit * blur))
        for _ in range(repeat):
            layer = Image.alpha_composite(layer, soft)
    draw = ImageDraw.Draw(layer)
    stroke = round(lines[-1].font.size * cs.stroke) if len(lines) > 1 else 0
    kw = {"stroke_width": stroke, "stroke_fill": cs.stroke_fill} if stroke else {}
    _draw_lines(draw, lines, (*cs.fill, 255), **kw)
    if cs.rule:
        rx = x0 if cs.align == "left" else (w - unit * 0.18) / 2
        ry = y1 + unit * 0.01
        draw.rectangle((rx, ry, rx + unit * 0.18, ry + max(2, unit * 0.004)), fill=cs.rule)
    return layer
