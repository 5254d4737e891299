"""Stamp a unit-box vector shape onto a frame with the style's outline, softness and glow.

Shapes (scene_shapes.py) are lists of (label, polygon) painted in order: "-" cuts back to
the background, every other label is a paint colour. Motifs use two labels ("+" body, "*"
light); figures use more (clothes, skin, hair, face), so one routine handles both and the
style's technique (ink outline, watercolour edge) treats a coloured figure like a silhouette.
"""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from sora_app.providers.scene_landscape import Frame, lerp
from sora_app.providers.scene_shapes import Ops
from sora_app.providers.scene_styles import RGB

INK: RGB = (12, 12, 20)
_SS = 2
"""Supersampling factor for shape masks, so silhouettes get anti-aliased edges."""


def _bounds(pts: list[list[tuple[float, float]]], pad: int) -> tuple[int, int, int, int]:
    flat = [p for poly in pts for p in poly]
    x0, y0 = int(min(p[0] for p in flat)) - pad, int(min(p[1] for p in flat)) - pad
    x1, y1 = int(max(p[0] for p in flat)) + pad, int(max(p[1] for p in flat)) + pad
    return x0, y0, x1, y1


def _masks(ops: Ops, pts, origin: tuple[int, int], size_px: tuple[int, int]):
    """One anti-aliased mask per label, plus their union, from a single painted label map."""
    order = list(dict.fromkeys(op for op, _ in ops if op != "-"))
    index = {op: i + 1 for i, op in enumerate(order)} | {"-": 0}
    canvas = Image.new("L", size_px, 0)
    draw = ImageDraw.Draw(canvas)
    for (op, _), poly in zip(ops, pts, strict=True):
        draw.polygon([((x - origin[0]) * _SS, (y - origin[1]) * _SS) for x, y in poly],
                     fill=index[op])  # fmt: skip
    masks = {
        op: canvas.point([255 if v == index[op] else 0 for v in range(256)]).reduce(_SS)
        for op in order
    }
    union = canvas.point([255 if v else 0 for v in range(256)]).reduce(_SS)
    return masks, union


def stamp(
    frame: Frame,
    ops: Ops,
    cx: float,
    cy: float,
    size: float,
    colors: tuple[RGB, RGB] | Mapping[str, RGB],
    glow: RGB | None = None,
    xscale: float = 1.0,
) -> None:
    """Rasterise a unit-box shape at (cx, cy); `colors` maps labels (or is (body, light))."""
    st, half = frame.style, size / 2
    paint = {"+": colors[0], "*": colors[1]} if isinstance(colors, tuple) else dict(colors)
    pts = [[(cx + x * half * xscale, cy + y * half) for x, y in poly] for _, poly in ops]
    pad = int(size * 0.35 if glow else 0) + st.outline * frame.px + int(st.soft * 3) + 3
    x0, y0, x1, y1 = _bounds(pts, pad)
    size_px = (max(1, x1 - x0) * _SS, max(1, y1 - y0) * _SS)
    masks, union = _masks(ops, pts, (x0, y0), size_px)
    if glow:
        halo = union.filter(ImageFilter.BoxBlur(size * 0.12)).point(lambda v: v * 0.55)
        frame.img.paste(glow, (x0, y0), halo)
    if st.outline:
        frame.img.paste(INK, (x0, y0), union.filter(ImageFilter.MaxFilter(2 * st.outline + 1)))
    if st.soft:
        masks = {op: m.filter(ImageFilter.GaussianBlur(st.soft)) for op, m in masks.items()}
        soft_union = union.filter(ImageFilter.GaussianBlur(st.soft))
        edge = ImageChops.subtract(soft_union, soft_union.filter(ImageFilter.MinFilter(5)))
        first = next(iter(masks), "+")
        frame.img.paste(lerp(paint.get(first, INK), INK, 0.5), (x0, y0), edge)
    for op, mask in masks.items():
        frame.img.paste(paint.get(op, INK), (x0, y0), mask)
