"""Vector silhouettes for keyword motifs and character figures, in unit coordinates.

A shape is a list of (op, polygon) in a [-1, 1] box (y down): "+" fills with the body
colour, "*" fills with the light colour (windows, irises, flames), "-" cuts back to the
background. Ground shapes stand on y = 1. Keeping shapes as data lets one stamping routine
handle outlines, glow and watercolour softness for all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Pt = tuple[float, float]
Ops = list[tuple[str, list[Pt]]]


def circle(cx: float, cy: float, r: float, ry: float | None = None, n: int = 32) -> list[Pt]:
    """Polygonal ellipse, so circles go through the same op pipeline as polygons."""
    ry = r if ry is None else ry
    return [
        (cx + r * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]


def rect(x0: float, y0: float, x1: float, y1: float) -> list[Pt]:
    """Axis-aligned box as a polygon."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def bar(x0: float, y0: float, x1: float, y1: float, width: float) -> list[Pt]:
    """Thick line segment as a quad (limbs, hands, masts, staffs)."""
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / length * width / 2, dx / length * width / 2
    return [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)]


def _star(v: int) -> Ops:
    n = 4 + v % 3
    pts = [
        ((1.0 if i % 2 == 0 else 0.42) * math.sin(math.pi * i / n),
         -(1.0 if i % 2 == 0 else 0.42) * math.cos(math.pi * i / n))
        for i in range(2 * n)
    ]  # fmt: skip
    return [("+", pts)]


def _crescent(v: int) -> Ops:
    return [("+", circle(0, 0, 1)), ("-", circle(0.42, -0.2, 0.86))]


def _orb(v: int) -> Ops:
    return [("+", circle(0, 0, 0.6)), ("*", circle(-0.18, -0.18, 0.22))]


def _eye(v: int) -> Ops:
    xs = [i / 12 - 1 for i in range(25)]
    almond = [(x, -0.55 * (1 - x * x)) for x in xs] + [(x, 0.55 * (1 - x * x)) for x in xs[::-1]]
    return [("+", almond), ("*", circle(0, 0, 0.4)), ("+", circle(0, 0, 0.2))]


def _clock(v: int) -> Ops:
    ops: Ops = [("+", circle(0, 0, 1)), ("*", circle(0, 0, 0.86))]
    for i in range(12):
        a = 2 * math.pi * i / 12
        ops.append(("+", bar(0.7 * math.sin(a), 0.7 * math.cos(a), 0.8 * math.sin(a),
                             0.8 * math.cos(a), 0.07)))  # fmt: skip
    h = 2 * math.pi * (v % 12) / 12
    ops += [("+", bar(0, 0, 0, -0.62, 0.08)), ("+", bar(0, 0, 0.42 * math.sin(h),
            -0.42 * math.cos(h), 0.1)), ("+", circle(0, 0, 0.1))]  # fmt: skip
    return ops


def _heart(v: int) -> Ops:
    pts = []
    for i in range(48):
        t = 2 * math.pi * i / 48
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((x / 17, -y / 17 + 0.1))
    return [("+", pts)]


def _key(v: int) -> Ops:
    return [
        ("+", circle(-0.55, 0, 0.42)), ("-", circle(-0.55, 0, 0.2)),
        ("+", bar(-0.2, 0, 0.98, 0, 0.16)), ("+", bar(0.62, 0, 0.62, 0.34, 0.13)),
        ("+", bar(0.86, 0, 0.86, 0.26, 0.13)),
    ]  # fmt: skip


def _diamond(v: int) -> Ops:
    return [
        ("+", [(0, -0.9), (0.75, -0.3), (0, 1), (-0.75, -0.3)]),
        ("*", [(0, -0.9), (0.28, -0.3), (0, 1), (-0.12, -0.3)]),
    ]


def _birds(v: int) -> Ops:
    ops: Ops = []
    for ox, oy, s in ((-0.5, 0.1, 0.45), (0.35, -0.35, 0.55), (0.55, 0.45, 0.3)):
        wing = [(ox - s, oy - 0.35 * s), (ox, oy + 0.12 * s), (ox + s, oy - 0.35 * s),
                (ox, oy - 0.08 * s)]  # fmt: skip
        ops.append(("+", wing))
    return ops


def _planet(v: int) -> Ops:
    return [
        ("+", circle(0, 0, 1, 0.3)), ("-", circle(0, 0, 0.8, 0.19)),
        ("+", circle(0, -0.04, 0.52)), ("*", circle(-0.18, -0.2, 0.16)),
    ]  # fmt: skip


def _bolt(v: int) -> Ops:
    return [("+", [(0.2, -1), (-0.45, 0.12), (0.0, 0.12), (-0.22, 1), (0.5, -0.2),
                   (0.06, -0.2), (0.36, -1)])]  # fmt: skip


def _spiral(v: int) -> Ops:
    pts = [
        ((0.06 + 0.9 * t / 40) * math.cos(t * 0.33), (0.06 + 0.9 * t / 40) * math.sin(t * 0.33))
        for t in range(41)
    ]
    return [("+", bar(*pts[i], *pts[i + 1], 0.09)) for i in range(40)]


def _hourglass(v: int) -> Ops:
    return [
        ("+", [(-0.62, -1), (0.62, -1), (0.07, 0), (0.62, 1), (-0.62, 1), (-0.07, 0)]),
        ("*", [(-0.35, 0.88), (0.35, 0.88), (0, 0.45)]),
        ("+", rect(-0.75, -1.08, 0.75, -0.94)), ("+", rect(-0.75, 0.94, 0.75, 1.08)),
    ]  # fmt: skip


def _rune(v: int) -> Ops:
    n = 4 + 2 * (v % 2)
    star = [
        (
            (0.78 if i % 2 == 0 else 0.18) * math.sin(math.pi * i / n),
            -(0.78 if i % 2 == 0 else 0.18) * math.cos(math.pi * i / n),
        )
        for i in range(2 * n)
    ]
    return [("+", circle(0, 0, 1)), ("-", circle(0, 0, 0.86)), ("*", star)]  # fmt: skip


def _book(v: int) -> Ops:
    return [
        ("+", [(-1, -0.55), (0, -0.35), (1, -0.55), (1, 0.55), (0, 0.75), (-1, 0.55)]),
        ("*", [(-0.9, -0.5), (-0.04, -0.3), (-0.04, 0.6), (-0.9, 0.45)]),
        ("*", [(0.9, -0.5), (0.04, -0.3), (0.04, 0.6), (0.9, 0.45)]),
    ]


def _tree(v: int) -> Ops:
    trunk = ("+", bar(0, 1, 0, 0.1, 0.16))
    if v % 2:
        return [trunk, ("+", circle(0, -0.3, 0.6)), ("+", circle(-0.38, 0.0, 0.42)),
                ("+", circle(0.38, 0.0, 0.42))]  # fmt: skip
    return [trunk, ("+", [(-0.7, 0.62), (0, -0.2), (0.7, 0.62)]),
            ("+", [(-0.55, 0.15), (0, -0.65), (0.55, 0.15)]),
            ("+", [(-0.4, -0.3), (0, -1), (0.4, -0.3)])]  # fmt: skip


def _house(v: int) -> Ops:
    return [
        ("+", rect(-0.6, 0.05, 0.6, 1)), ("+", [(-0.8, 0.1), (0, -0.55), (0.8, 0.1)]),
        ("+", rect(0.28, -0.45, 0.44, -0.1)), ("*", rect(-0.42, 0.3, -0.14, 0.58)),
        ("*", rect(0.14, 0.3, 0.42, 0.58)),
    ]  # fmt: skip


def _tower(v: int) -> Ops:
    ops: Ops = [("+", rect(-0.22, -0.55, 0.22, 1))]
    if v % 2:
        ops += [("+", rect(-0.3, -0.72, 0.3, -0.55))]
        ops += [("+", rect(-0.3 + 0.15 * i, -0.84, -0.22 + 0.15 * i, -0.7)) for i in range(5)]
    else:
        ops.append(("+", [(-0.34, -0.55), (0, -1), (0.34, -0.55)]))
    ops += [("*", rect(-0.06, -0.4 + 0.32 * i, 0.06, -0.26 + 0.32 * i)) for i in range(4)]
    return ops


def _ship(v: int) -> Ops:
    return [
        ("+", [(-1, 0.55), (1, 0.55), (0.7, 0.95), (-0.75, 0.95)]),
        ("+", bar(0, 0.55, 0, -0.95, 0.06)), ("*", [(0.05, -0.9), (0.05, 0.45), (0.75, 0.45)]),
        ("*", [(-0.05, -0.7), (-0.05, 0.45), (-0.6, 0.45)]),
    ]  # fmt: skip


def _door(v: int) -> Ops:
    return [
        ("+", rect(-0.55, -0.2, 0.55, 1)), ("+", circle(0, -0.2, 0.55)),
        ("*", rect(-0.38, -0.1, 0.38, 1)), ("*", circle(0, -0.1, 0.38)),
    ]  # fmt: skip


def _flame(v: int) -> Ops:
    def drop(scale: float, dy: float) -> list[Pt]:
        pts = []
        for i in range(40):
            t = 2 * math.pi * i / 40
            pts.append((0.62 * scale * math.sin(t) * (1 - math.cos(t)) / 2,
                        dy - scale * math.cos(t)))  # fmt: skip
        return pts

    return [("+", drop(1.0, 0.0)), ("*", drop(0.5, 0.45))]


def _monolith(v: int) -> Ops:
    return [
        ("+", [(-0.3, -1), (0.3, -0.92), (0.36, 1), (-0.36, 1)]),
        ("*", bar(-0.05, -0.6, 0.08, -0.2, 0.05)), ("*", bar(0.08, -0.2, -0.06, 0.2, 0.05)),
    ]  # fmt: skip


def _peak(v: int) -> Ops:
    return [
        ("+", [(-1, 1), (-0.1, -0.9), (0.15, -0.62), (0.3, -0.75), (1, 1)]),
        ("*", [(-0.1, -0.9), (-0.38, -0.28), (-0.12, -0.42), (0.08, -0.3), (0.15, -0.62)]),
    ]


def _wave(v: int) -> Ops:
    top = [(i / 30 * 2 - 1, 0.45 + 0.1 * math.sin(i / 30 * 2 * math.pi * 3)) for i in range(31)]
    crest = [(x, y + 0.05) for x, y in top] + [(x, y + 0.16) for x, y in top[::-1]]
    return [("+", [*top, (1, 1), (-1, 1)]), ("*", crest)]


ShapeFn = Callable[[int], Ops]
SKY_SHAPES: dict[str, ShapeFn] = {
    "star": _star, "crescent": _crescent, "orb": _orb, "eye": _eye, "clock": _clock,
    "heart": _heart, "key": _key, "diamond": _diamond, "birds": _birds, "planet": _planet,
    "bolt": _bolt, "spiral": _spiral, "hourglass": _hourglass, "rune": _rune, "book": _book,
}  # fmt: skip
GROUND_SHAPES: dict[str, ShapeFn] = {
    "tree": _tree, "house": _house, "tower": _tower, "ship": _ship, "door": _door,
    "flame": _flame, "monolith": _monolith, "peak": _peak, "wave": _wave,
}  # fmt: skip

LEXICON: dict[str, str] = {
    **dict.fromkeys(("star", "sky", "space", "night", "galaxy", "constellation"), "star"),
    **dict.fromkeys(("moon", "lunar", "eclipse"), "crescent"),
    **dict.fromkeys(("light", "lamp", "lantern", "sun", "energy", "magic", "orb"), "orb"),
    **dict.fromkeys(("eye", "watcher", "vision", "secret", "spy", "witness"), "eye"),
    **dict.fromkeys(("clock", "time", "hour", "deadline", "midnight"), "clock"),
    **dict.fromkeys(("heart", "love", "romance"), "heart"),
    **dict.fromkeys(("key", "lock", "clue", "answer"), "key"),
    **dict.fromkeys(("diamond", "gem", "jewel", "treasure", "crystal", "gold"), "diamond"),
    **dict.fromkeys(("bird", "crow", "raven", "wing", "flight", "freedom"), "birds"),
    **dict.fromkeys(("planet", "world", "saturn", "universe"), "planet"),
    **dict.fromkeys(("storm", "lightning", "thunder", "power", "electricity"), "bolt"),
    **dict.fromkeys(("dream", "memory", "madness", "vortex", "portal"), "spiral"),
    **dict.fromkeys(("hourglass", "sand", "past", "future", "history"), "hourglass"),
    **dict.fromkeys(("rune", "spell", "symbol", "curse", "ritual", "compass"), "rune"),
    **dict.fromkeys(("book", "letter", "map", "diary", "journal", "story", "note"), "book"),
    **dict.fromkeys(("tree", "forest", "woods", "garden", "park", "jungle"), "tree"),
    **dict.fromkeys(("house", "home", "village", "cabin", "farm", "town"), "house"),
    **dict.fromkeys(("tower", "castle", "city", "lighthouse", "building", "church"), "tower"),
    **dict.fromkeys(("ship", "boat", "voyage", "sail", "harbor", "harbour"), "ship"),
    **dict.fromkeys(("door", "gate", "entrance", "room", "mansion", "hall"), "door"),
    **dict.fromkeys(("fire", "flame", "candle", "torch", "war", "dragon"), "flame"),
    **dict.fromkeys(("stone", "monument", "ruin", "tomb", "grave", "statue"), "monolith"),
    **dict.fromkeys(("mountain", "peak", "summit", "volcano", "cliff"), "peak"),
    **dict.fromkeys(("sea", "ocean", "river", "water", "lake", "wave", "rain"), "wave"),
}


def shape_for(keyword: str, h: int) -> str:
    """Known nouns get a fitting symbol; anything else a stable hash-picked one."""
    for word in keyword.lower().replace("-", " ").split():
        for cand in (word, word.rstrip("s"), word.removesuffix("es")):
            if cand in LEXICON:
                return LEXICON[cand]
    names = sorted(SKY_SHAPES) + sorted(GROUND_SHAPES)
    return names[h % len(names)]
