"""Unit-box silhouettes for genre set pieces (gravestones, columns, domes, balloons...).

Same conventions as scene_shapes.py: (label, polygon) in a [-1, 1] box, y down, ground
pieces standing on y = 1; "+" body, "*" light (windows, glow, blossom), "-" cut.
"""

from __future__ import annotations

import math

from sora_app.providers.scene_shapes import Ops, Pt, bar, circle, rect


def _arch_top(x0: float, x1: float, y: float, n: int = 12) -> list[Pt]:
    """A half-circle roof from x0 to x1 resting on height y."""
    cx, r = (x0 + x1) / 2, (x1 - x0) / 2
    return [(cx - r * math.cos(math.pi * i / n), y - r * math.sin(math.pi * i / n))
            for i in range(n + 1)]  # fmt: skip


def grave(v: int) -> Ops:
    """A headstone: rounded slab, a cross, or a leaning slab."""
    kind = v % 3
    if kind == 1:
        return [("+", bar(0, 1, 0, -0.9, 0.22)), ("+", bar(-0.48, -0.42, 0.48, -0.42, 0.2))]
    lean = 0.12 if kind == 2 else 0.0
    slab = [(-0.5, 1), (0.5, 1), (0.5 + lean, -0.3), *_arch_top(-0.5 + lean, 0.5 + lean, -0.3)]
    return [("+", slab[:3] + slab[3:][::-1])]


def column(v: int) -> Ops:
    """A fluted column on a plinth, whole with a capital or broken off."""
    top = -0.95 if v % 2 else -0.35 - 0.2 * (v % 3)
    ops: Ops = [("+", rect(-0.5, 0.85, 0.5, 1)), ("+", rect(-0.32, top, 0.32, 0.86))]
    if v % 2:
        ops.append(("+", rect(-0.48, -1.0, 0.48, -0.88)))
    else:
        ops.append(("-", [(-0.33, top - 0.01), (0.1, top - 0.01), (-0.33, top + 0.2)]))
    ops += [("*", rect(x - 0.02, top + 0.12, x + 0.02, 0.8)) for x in (-0.16, 0.0, 0.16)]
    return ops


def pyramid(v: int) -> Ops:
    """A stepped or smooth pyramid with its lit face."""
    return [("+", [(-1, 1), (0, 0.05), (1, 1)]), ("*", [(0, 0.05), (1, 1), (0.25, 1)])]


def obelisk(v: int) -> Ops:
    return [("+", [(-0.16, 1), (-0.11, -0.75), (0, -1), (0.11, -0.75), (0.16, 1)]),
            ("*", [(0, -1), (0.11, -0.75), (0.16, 1), (0.04, 1)])]  # fmt: skip


def dome(v: int) -> Ops:
    """A habitat dome with a band of lit windows and a mast."""
    ops: Ops = [("+", [(-1, 1), *_arch_top(-1, 1, 1, 16)[1:-1], (1, 1)])]
    ops += [("*", rect(x - 0.05, 0.55, x + 0.05, 0.65)) for x in (-0.6, -0.3, 0.0, 0.3, 0.6)]
    ops += [("+", bar(0.3, 0.2, 0.3, -0.35, 0.04)), ("*", circle(0.3, -0.38, 0.06))]
    return ops


def antenna(v: int) -> Ops:
    """A lattice mast with a dish and a beacon."""
    ops: Ops = [("+", [(-0.22, 1), (-0.03, -0.8), (0.03, -0.8), (0.22, 1)])]
    ops += [("-", [(-0.1, y), (0.1, y), (0, y + 0.22)]) for y in (-0.3, 0.1, 0.5)]
    ops += [("+", [(-0.55, -0.35), (-0.2, -0.6), (-0.12, -0.1)]), ("*", circle(0, -0.86, 0.07))]
    return ops


def streetlamp(v: int) -> Ops:
    """An old street lamp: pole, arm and a lit glass head."""
    return [
        ("+", bar(0, 1, 0, -0.8, 0.07)), ("+", rect(-0.14, 0.9, 0.14, 1)),
        ("+", [(-0.16, -0.82), (0.16, -0.82), (0.1, -0.98), (-0.1, -0.98)]),
        ("*", [(-0.12, -0.8), (0.12, -0.8), (0.08, -0.62), (-0.08, -0.62)]),
        ("+", rect(-0.1, -0.62, 0.1, -0.58)),
    ]  # fmt: skip


def balloon(v: int) -> Ops:
    """A balloon with a knot and a wavy string hanging below it."""
    ops: Ops = [("+", circle(0, -0.45, 0.42, 0.52)), ("+", [(-0.06, 0.1), (0.06, 0.1), (0, 0.02)])]
    ops.append(("*", circle(-0.15, -0.65, 0.08, 0.12)))
    pts = [(0.05 * math.sin(i * 1.3), 0.1 + 0.9 * i / 8) for i in range(9)]
    ops += [("k", bar(*pts[i], *pts[i + 1], 0.025)) for i in range(8)]
    return ops


def paper_lantern(v: int) -> Ops:
    """A glowing paper lantern (or heart-shaped, every other one) drifting up."""
    if v % 2:
        pts = []
        for i in range(40):
            t = 2 * math.pi * i / 40
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            pts.append((x / 20, -y / 20))
        return [("*", pts)]
    return [("*", circle(0, 0, 0.45, 0.6)), ("+", rect(-0.25, 0.55, 0.25, 0.65))]


def bulb(v: int) -> Ops:
    """A light bulb: the idea symbol."""
    return [
        ("*", circle(0, -0.25, 0.6)),
        ("*", [(-0.32, 0.2), (0.32, 0.2), (0.25, 0.55), (-0.25, 0.55)]),
        ("+", rect(-0.27, 0.55, 0.27, 0.68)), ("+", rect(-0.24, 0.72, 0.24, 0.84)),
        ("+", rect(-0.14, 0.88, 0.14, 0.98)),
    ]  # fmt: skip


def atom(v: int) -> Ops:
    """Three electron orbits around a nucleus."""
    ops: Ops = []
    for k in range(3):
        a = math.pi * k / 3
        ring = [(math.cos(t) * 0.95, math.sin(t) * 0.32) for t in
                (2 * math.pi * i / 28 for i in range(29))]  # fmt: skip
        rot = [
            (x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a)) for x, y in ring
        ]
        ops += [("+", bar(*rot[i], *rot[i + 1], 0.06)) for i in range(28)]
    return [*ops, ("*", circle(0, 0, 0.18))]


def gear(v: int) -> Ops:
    """A cog wheel with a hole."""
    teeth = 8
    pts = []
    for i in range(teeth * 4):
        a = 2 * math.pi * i / (teeth * 4)
        r = 1.0 if (i % 4) in (1, 2) else 0.78
        pts.append((r * math.cos(a), r * math.sin(a)))
    return [("+", pts), ("-", circle(0, 0, 0.32))]


def spacecraft(v: int) -> Ops:
    """A saucer (or a slim rocket on alternate values) with lit portholes."""
    if v % 2:
        return [("+", [(0, -1), (0.22, -0.4), (0.22, 0.6), (-0.22, 0.6), (-0.22, -0.4)]),
                ("+", [(-0.22, 0.2), (-0.45, 0.75), (-0.22, 0.6)]),
                ("+", [(0.22, 0.2), (0.45, 0.75), (0.22, 0.6)]),
                ("*", circle(0, -0.2, 0.1)),
                ("*", [(-0.12, 0.62), (0.12, 0.62), (0, 1)])]  # fmt: skip
    ops: Ops = [("+", circle(0, 0, 1, 0.24)), ("+", circle(0, -0.15, 0.42, 0.3))]
    ops += [("*", circle(x, 0.02, 0.06)) for x in (-0.6, -0.3, 0.0, 0.3, 0.6)]
    return ops


def floating_island(v: int) -> Ops:
    """A rock hanging in the air with grass on top and a small tree."""
    return [
        ("+", [(-1, -0.2), (1, -0.2), (0.6, 0.25), (0.2, 0.9), (-0.15, 0.5), (-0.6, 0.3)]),
        ("*", rect(-1, -0.28, 1, -0.18)), ("+", bar(0.4, -0.25, 0.4, -0.6, 0.06)),
        ("+", circle(0.4, -0.72, 0.2)),
    ]  # fmt: skip


def pine(v: int) -> Ops:
    """A conifer: three stacked triangles on a short trunk."""
    tiers: Ops = [
        ("+", [(-0.45 + 0.1 * k, 0.75 - 0.55 * k), (0, -0.2 - 0.4 * k),
               (0.45 - 0.1 * k, 0.75 - 0.55 * k)])
        for k in range(3)
    ]  # fmt: skip
    return [("+", bar(0, 1, 0, 0.7, 0.1)), *tiers]


def blossom(v: int) -> Ops:
    """A tree in bloom: a dark trunk with branches under clouds of blossom."""
    ops: Ops = [("+", bar(0, 1, 0.05, 0.1, 0.14)), ("+", bar(0.05, 0.2, -0.4, -0.3, 0.07)),
                ("+", bar(0.05, 0.15, 0.45, -0.35, 0.07))]  # fmt: skip
    for x, y, r in ((-0.45, -0.35, 0.33), (0.45, -0.4, 0.35), (0.0, -0.6, 0.42), (-0.1, -0.2, 0.3),
                    (0.3, -0.05, 0.25), (-0.65, -0.05, 0.2)):  # fmt: skip
        ops.append(("*", circle(x, y, r)))
    return ops


def summit_flag(v: int) -> Ops:
    """A peak with a planted flag on top."""
    return [
        ("+", [(-1, 1), (-0.05, -0.4), (1, 1)]), ("*", [(-0.05, -0.4), (-0.3, 0.05), (0.2, 0.0)]),
        ("+", bar(-0.05, -0.38, -0.05, -0.95, 0.035)),
        ("*", [(-0.03, -0.95), (0.38, -0.83), (-0.03, -0.7)]),
    ]  # fmt: skip
