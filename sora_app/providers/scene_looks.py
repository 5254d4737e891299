"""Read a character's free-text description into what a painted figure can show.

"Long red hair, green coat, terrified expression" becomes hair colour and length, clothing
colour and cut, and an expression (face and pose). Only simple words are understood; anything
else is ignored, so a description can never break a render, only fail to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sora_app.providers.scene_styles import RGB

COLORS: dict[str, RGB] = {
    "red": (196, 34, 38), "crimson": (170, 20, 50), "scarlet": (220, 36, 30),
    "maroon": (110, 24, 36), "burgundy": (120, 22, 44), "orange": (240, 130, 30),
    "yellow": (244, 206, 40), "gold": (222, 170, 40), "golden": (222, 170, 40),
    "green": (40, 150, 70), "emerald": (20, 140, 90), "olive": (110, 120, 50),
    "teal": (20, 130, 130), "turquoise": (40, 190, 190), "blue": (36, 84, 200),
    "navy": (24, 36, 96), "azure": (60, 140, 230), "purple": (120, 50, 160),
    "violet": (140, 70, 200), "lavender": (170, 140, 220), "pink": (240, 120, 170),
    "magenta": (210, 40, 150), "brown": (110, 70, 40), "tan": (190, 150, 100),
    "beige": (210, 190, 150), "khaki": (170, 160, 110), "black": (26, 26, 30),
    "white": (236, 236, 232), "grey": (130, 132, 136), "gray": (130, 132, 136),
    "silver": (186, 190, 196), "cream": (238, 226, 196), "leather": (100, 64, 36),
}  # fmt: skip
HAIR_COLORS: dict[str, RGB] = {
    "black": (22, 18, 18), "dark": (42, 30, 24), "brown": (96, 60, 32),
    "brunette": (96, 60, 32), "chestnut": (120, 66, 34), "blonde": (232, 196, 110),
    "blond": (232, 196, 110), "fair": (226, 196, 130), "golden": (230, 180, 80),
    "red": (184, 66, 30), "ginger": (200, 90, 36), "auburn": (150, 56, 34),
    "copper": (184, 92, 44), "grey": (176, 176, 180), "gray": (176, 176, 180),
    "silver": (200, 202, 208), "white": (232, 232, 230),
}  # fmt: skip


def _table(groups: dict[str, str]) -> dict[str, str]:
    """Invert {meaning: "word word ..."} into {word: meaning} for look-ups."""
    return {word: meaning for meaning, words in groups.items() for word in words.split()}


HAIR_WORDS = {"hair", "haired", "curls", "braid", "braids", "ponytail", "locks", "mane"}
GARMENTS = _table({
    "dress": "dress gown robe robes skirt kimono sari",
    "coat": "coat cloak cape raincoat trenchcoat overcoat parka poncho",
    "trousers": "jacket shirt suit uniform hoodie sweater jumper blouse vest tunic jeans "
                "trousers overalls armor armour top cardigan blazer",
})  # fmt: skip
HATS = {w: int(k) for w, k in _table({
    "1": "hat fedora cap bowler beret", "2": "hood hooded witch wizard", "3": "helmet beanie",
}).items()}  # fmt: skip
PROPS = {w: int(k) for w, k in _table({
    "1": "staff cane stick spear umbrella", "2": "lantern lamp torch flashlight candle",
    "3": "sword blade axe wand",
}).items()}  # fmt: skip
EXPRESSIONS = _table({
    "fear": "terrified scared afraid frightened fearful horrified panicked nervous anxious "
            "worried fear",
    "joy": "happy smiling smile cheerful joyful laughing grinning excited delighted playful "
           "jolly bubbly glad",
    "sad": "sad crying tearful melancholy gloomy grieving lonely heartbroken sorrowful weeping "
           "mournful",
    "anger": "angry furious stern scowling fierce grumpy enraged menacing grim",
    "surprise": "surprised shocked astonished amazed startled",
    "calm": "calm serene gentle kind thoughtful peaceful quiet shy wise",
})  # fmt: skip
SKINS: dict[str, RGB] = {
    "pale": (238, 212, 192), "fair": (234, 200, 172), "freckled": (230, 190, 160),
    "tanned": (200, 150, 110), "tan": (200, 150, 110), "olive": (190, 150, 108),
    "brown": (140, 92, 60), "dark": (104, 66, 44), "black": (84, 54, 38),
}  # fmt: skip
DEFAULT_SKINS: tuple[RGB, ...] = ((226, 184, 150), (196, 146, 106), (150, 102, 70), (110, 74, 50))
SMALL_WORDS = {"child", "kid", "boy", "girl", "little", "young", "toddler"}
OLD_WORDS = {"old", "elderly", "aged", "grandmother", "grandfather", "granny", "grandpa"}
_LOOKBACK = 3


@dataclass(frozen=True)
class Look:
    """What a figure shows; None and empty strings mean 'not described, pick a default'."""

    hair: RGB | None = None
    hair_length: str = ""
    """short | long | bald | curly; empty means short."""
    clothes: RGB | None = None
    garment: str = ""
    """dress | coat | trousers; empty keeps the hash-picked cut."""
    skin: RGB | None = None
    expression: str = ""
    hat: int | None = None
    prop: int | None = None
    scale: float = 1.0

    @property
    def described(self) -> bool:
        """Anything the figure should show; undescribed characters stay silhouettes."""
        return self != Look()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _before(words: list[str], i: int, table: dict) -> str | None:
    """The nearest word from `table` in the few words before position i, within its phrase.

    Stops at another noun, so in "brown hair, coat" the coat does not become brown.
    """
    for j in range(i - 1, max(-1, i - 1 - _LOOKBACK), -1):
        if words[j] in table:
            return words[j]
        if words[j] in HAIR_WORDS or words[j] in GARMENTS or words[j] in ("skin", "eyes"):
            return None
    return None


def _hair(words: list[str]) -> tuple[RGB | None, str]:
    """Hair colour and length from '<colour> hair', 'red-haired', 'blonde', 'bald' and co."""
    color, length = None, ""
    for i, w in enumerate(words):
        if w in HAIR_WORDS:
            found = _before(words, i, HAIR_COLORS)
            color = HAIR_COLORS[found] if found and color is None else color
            near = set(words[max(0, i - _LOOKBACK) : i])
            length = next((n for n in ("long", "short", "curly") if n in near), length)
            length = "long" if w in ("braid", "braids", "ponytail", "locks", "mane") else length
        elif w in ("blonde", "blond", "brunette", "redhead", "ginger") and color is None:
            color = HAIR_COLORS["red" if w == "redhead" else w]
    if "bald" in words:
        length = "bald"
    if color is None and OLD_WORDS & set(words):
        color = HAIR_COLORS["grey"]
    return color, length


def _clothes(words: list[str]) -> tuple[RGB | None, str]:
    """The first garment named, with a colour if one precedes it or follows 'in'/'wearing'."""
    color, cut = None, ""
    for i, w in enumerate(words):
        if w in GARMENTS and not cut:
            cut = GARMENTS[w]
            found = _before(words, i, COLORS)
            color = COLORS[found] if found else color
        elif w in ("in", "wearing", "dressed") and i + 1 < len(words) and color is None:
            color = COLORS.get(words[i + 1])
    return color, cut


def _skin(words: list[str]) -> RGB | None:
    """Skin only from explicit '<tone> skin' / '<tone>-skinned' (or 'pale'), never guessed."""
    for i, w in enumerate(words):
        if w in ("skin", "skinned", "complexion"):
            found = _before(words, i, SKINS)
            if found:
                return SKINS[found]
    return SKINS["pale"] if "pale" in words else None


@lru_cache(maxsize=256)
def parse(description: str) -> Look:
    """A Look from a description; an empty or unhelpful one gives the empty Look."""
    words = _words(description)
    if not words:
        return Look()
    hair, length = _hair(words)
    clothes, garment = _clothes(words)
    expression = next((EXPRESSIONS[w] for w in words if w in EXPRESSIONS), "")
    hat = next((HATS[w] for w in words if w in HATS), None)
    prop = next((PROPS[w] for w in words if w in PROPS), None)
    scale = 0.72 if SMALL_WORDS & set(words) else (1.1 if "tall" in words else 1.0)
    return Look(hair, length, clothes, garment, _skin(words), expression, hat, prop, scale)
