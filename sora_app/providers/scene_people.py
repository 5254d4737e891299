"""Described characters as coloured figures: clothes, hair, skin, a face and a telling pose.

Shapes are labelled ops in the figure's unit box (feet on y = 1): "c" clothes, "p" trousers,
"s" skin, "h" hair, "k" hat, "f" facial features, "*" a lit prop. Expression shows twice:
in the face (big enough at any video size) and in the pose, which reads even when tiny.
"""

from __future__ import annotations

import math

from sora_app.providers.scene_landscape import Frame, lerp
from sora_app.providers.scene_looks import DEFAULT_SKINS, HAIR_COLORS, Look
from sora_app.providers.scene_paint import INK
from sora_app.providers.scene_shapes import Ops, Pt, bar, circle, rect
from sora_app.providers.scene_styles import RGB

HEAD_R = 0.14
CLOTHES: tuple[RGB, ...] = (
    (150, 60, 50), (60, 90, 140), (70, 110, 70), (120, 90, 60), (90, 70, 120), (170, 140, 80),
)  # fmt: skip
_NATURAL_HAIR = ("black", "dark", "brown", "blonde", "red", "chestnut")
POSES: dict[str, tuple[Pt, Pt, float]] = {
    "": ((0.24, -0.28), (0.28, 0.05), 0.0),
    "calm": ((0.22, -0.28), (0.2, 0.04), 0.0),
    "joy": ((0.36, -0.82), (0.46, -1.08), 0.0),
    "fear": ((0.38, -0.46), (0.2, -0.86), 0.02),
    "surprise": ((0.38, -0.56), (0.52, -0.84), 0.0),
    "sad": ((0.21, -0.3), (0.17, 0.02), 0.07),
    "anger": ((0.42, -0.34), (0.19, -0.12), 0.0),
}
"""Expression -> (right elbow, right hand, head drop); the left arm mirrors the right."""


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, w: float) -> list[Pt]:
    """A thick elliptical arc as one polygon (smiles, frowns, brows)."""
    steps = [a0 + (a1 - a0) * i / 10 for i in range(11)]
    outer = [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in steps]
    inner = [(cx + (rx - w) * math.cos(a), cy + (ry - w) * math.sin(a)) for a in steps[::-1]]
    return outer + inner


def _body(cut: int, ops: Ops) -> None:
    """Torso and legs by cut: 0 dress, 1 jacket and trousers, 2 long flared coat."""
    if cut == 0:
        ops.append(("c", [(-0.2, -0.65), (0.2, -0.65), (0.34, 1), (-0.34, 1)]))
    elif cut == 1:
        ops += [("p", bar(-0.09, 0.0, -0.12, 1, 0.13)), ("p", bar(0.09, 0.0, 0.13, 1, 0.13))]
        ops.append(("c", [(-0.21, -0.65), (0.21, -0.65), (0.2, 0.12), (-0.2, 0.12)]))
    else:
        ops += [("p", bar(-0.08, 0.5, -0.1, 1, 0.11)), ("p", bar(0.08, 0.5, 0.1, 1, 0.11))]
        ops.append(("c", [(-0.18, -0.65), (0.18, -0.65), (0.13, -0.2), (0.36, 0.7),
                          (-0.36, 0.7), (-0.13, -0.2)]))  # fmt: skip


def _arms(expression: str, ops: Ops) -> Pt:
    """Sleeves and hands in the expression's pose; returns the right hand for a prop."""
    (ex, ey), (hx, hy), _ = POSES.get(expression, POSES[""])
    for s in (-1, 1):
        ops += [("c", bar(s * 0.18, -0.6, s * ex, ey, 0.09)), ("c", circle(s * ex, ey, 0.045))]
        ops += [("c", bar(s * ex, ey, s * hx, hy, 0.08)), ("s", circle(s * hx, hy, 0.05))]
    return hx, hy


def _hair(look: Look, hy: float, back: bool) -> Ops:
    """Hair behind the head (long hair's fall) or on top of it (cap, curls, fringe)."""
    r, length = HEAD_R * 1.05, look.hair_length
    if length == "bald":
        return []
    if back:
        fall = [(-0.16, hy - 0.04), (0.16, hy - 0.04), (0.2, -0.5), (-0.2, -0.5)]
        return [("h", fall)] if length == "long" else []
    top = [(r * math.cos(a), hy + r * math.sin(a)) for a in
           [math.pi * (0.93 + 1.14 * i / 16) for i in range(17)]]  # fmt: skip
    ops: Ops = [("h", [*top, (0.1, hy - 0.045), (0.0, hy - 0.06), (-0.1, hy - 0.045)])]
    if length == "curly":
        ops += [("h", circle(r * math.cos(a), hy + r * math.sin(a), 0.055))
                for a in (math.pi * k / 6 for k in range(6, 13))]  # fmt: skip
    if length == "long":
        ops += [("h", bar(s * 0.12, hy, s * 0.18, -0.46, 0.08)) for s in (-1, 1)]
    return ops


def _face(expression: str, hy: float) -> Ops:
    """Eyes, brows and mouth in unit coordinates around the head centre."""
    wide = expression in ("fear", "surprise")
    eye = 0.024 if wide else 0.018
    ops: Ops = [("f", circle(s * 0.05, hy + 0.005, eye, eye * 1.2, 12)) for s in (-1, 1)]
    tilt = {"fear": 0.025, "sad": 0.02, "anger": -0.03, "surprise": 0.0}.get(expression)
    if tilt is not None:
        lift = 0.015 if wide else 0.0
        for s in (-1, 1):
            ops.append(("f", bar(s * 0.02, hy - 0.05 - tilt - lift, s * 0.085, hy - 0.05 - lift,
                                 0.016)))  # fmt: skip
    my = hy + 0.07
    if wide:
        ops.append(("f", circle(0, my, 0.028, 0.038 if expression == "fear" else 0.03, 12)))
    elif expression == "joy":
        ops.append(("f", _arc(0, my - 0.025, 0.055, 0.045, 0.15 * math.pi, 0.85 * math.pi, 0.02)))
    elif expression == "sad":
        ops.append(("f", _arc(0, my + 0.03, 0.045, 0.035, 1.15 * math.pi, 1.85 * math.pi, 0.018)))
    else:
        ops.append(("f", rect(-0.035, my - 0.008, 0.035, my + 0.008)))
    return ops


def _prop(prop: int, hand: Pt, ops: Ops) -> None:
    """Staff, lantern or blade held in the right hand."""
    hx, hy = hand
    if prop == 1:
        ops.append(("k", bar(hx + 0.02, hy - 0.4, hx + 0.02, min(1.0, hy + 0.95), 0.045)))
    elif prop == 2:
        ops += [("k", bar(hx, hy, hx, hy + 0.15, 0.02)), ("*", circle(hx, hy + 0.23, 0.075))]
    elif prop == 3:
        ops.append(("k", bar(hx, hy, hx + 0.3, hy - 0.6, 0.045)))


def person_ops(h: int, look: Look, face: bool) -> Ops:
    """The whole labelled figure, back to front; `face` only when the head is big enough."""
    cut = {"dress": 0, "trousers": 1, "coat": 2}.get(look.garment, h % 3)
    drop = POSES.get(look.expression, POSES[""])[2]
    hy = -0.83 + drop
    ops: Ops = [*_hair(look, hy, back=True)]
    _body(cut, ops)
    ops.append(("s", bar(0, hy, 0, -0.6, 0.09)))
    hand = _arms(look.expression, ops)
    ops.append(("s", circle(0, hy, HEAD_R)))
    ops += _hair(look, hy, back=False)
    if look.hat:
        ops += {1: [("k", rect(-0.26, hy - 0.11, 0.26, hy - 0.07)),
                    ("k", rect(-0.14, hy - 0.27, 0.14, hy - 0.09))],
                2: [("k", [(-0.2, hy - 0.06), (0.0, hy - 0.5), (0.2, hy - 0.06)])],
                3: [("k", [(0.165 * math.cos(a), hy - 0.01 + 0.165 * math.sin(a))
                           for a in (math.pi * (1 + i / 12) for i in range(13))])],
                }[look.hat]  # fmt: skip
    if face:
        ops += _face(look.expression, hy)
    _prop(look.prop or 0, hand, ops)
    return ops


def person_colors(frame: Frame, h: int, look: Look) -> dict[str, RGB]:
    """Described colours (or stable per-name defaults), sunk into the genre's shadow."""
    st = frame.style
    clothes = look.clothes or CLOTHES[(h >> 4) % len(CLOTHES)]
    hair = look.hair or HAIR_COLORS[_NATURAL_HAIR[(h >> 12) % len(_NATURAL_HAIR)]]
    skin = look.skin or DEFAULT_SKINS[(h >> 20) % len(DEFAULT_SKINS)]
    shade = 1.0 - frame.mood.light
    lit = {
        "c": clothes, "p": lerp(clothes, INK, 0.45), "s": skin, "h": hair,
        "k": lerp(clothes, INK, 0.6), "f": lerp(skin, INK, 0.8),
    }  # fmt: skip
    out = {k: lerp(v, st.figure, shade) for k, v in lit.items()}
    out["*"] = st.accent
    return out
