"""Write ASS subtitles sized to the output frame, for libass to burn in during the encode."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import font_roboto
from PIL import ImageFont

from sora_app.pipeline.types import Cue

log = logging.getLogger(__name__)

FONT_NAME = "Roboto"
"""Family of the bundled Roboto-Bold.ttf; styles set Bold so libass picks that file."""
FONT_FILE = "Roboto-Bold.ttf"
FONT_SIZE_FRACTION = 0.062
"""Font size as a share of the frame's shorter side (≈67 px on 1080×1920 and 1920×1080)."""
HIGHLIGHT = "&H0000D7FF&"
"""The spoken word's colour (ASS is BGR): #FFD700, the gold short-video captions use."""


@dataclass(frozen=True)
class SafeArea:
    """Shares of the frame captions keep clear on each side (text, outline and shadow)."""

    left: float
    right: float
    top: float
    bottom: float


PORTRAIT_SAFE = SafeArea(left=0.08, right=0.15, top=0.10, bottom=0.27)
"""9:16 shorts: TikTok, Reels and Shorts draw their own caption, music line and buttons over
the bottom ~20-25 % and a button column over the right ~12-15 %, and a header over the top
~8-10 %. The text block's bottom sits at 73 % of the height, clear of all of them."""
LANDSCAPE_SAFE = SafeArea(left=0.07, right=0.07, top=0.06, bottom=0.08)
"""16:9 and 1:1: no overlay to avoid, so a title-safe frame (≥5 % each side, with room for
the outline and shadow) keeps text off the edge that TVs and embeds may crop."""


def is_portrait(width: int, height: int) -> bool:
    """9:16-like frames, the ones played inside a short-video app."""
    return height > width * 1.3


def safe_area(width: int, height: int) -> SafeArea:
    """Where captions may go for this frame shape."""
    return PORTRAIT_SAFE if is_portrait(width, height) else LANDSCAPE_SAFE


def word_captions_default(width: int, height: int) -> bool:
    """Word-timed captions by default only for portrait shorts, where viewers expect them."""
    return is_portrait(width, height)


def fonts_dir() -> Path:
    """The directory libass must search, so rendering never depends on system fonts."""
    return Path(font_roboto.__file__).parent / "files"


def escape_text(text: str) -> str:
    """Make spoken text literal for libass: no override blocks, no stray escapes."""
    text = text.replace("\\", "\\\u2060")  # a word joiner stops "\N", "\h" … being read as codes
    text = text.replace("{", "\\{").replace("}", "\\}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\\N".join(part.strip() for part in text.split("\n"))


def _timestamp(seconds: float) -> str:
    """ASS time (H:MM:SS.cc); centiseconds are the format's resolution."""
    cs = max(0, round(seconds * 100))
    hours, rest = divmod(cs, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def _font_size(width: int, height: int) -> int:
    return max(8, round(min(width, height) * FONT_SIZE_FRACTION))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    """The caption font as libass sizes it: an ASS font size is the line's full height
    (ascent + descent), not the em, so the em is scaled down by the font's own metrics."""
    probe = ImageFont.truetype(str(fonts_dir() / FONT_FILE), 1000)
    ascent, descent = probe.getmetrics()
    em = max(1, round(size * 1000 / (ascent + descent)))
    return ImageFont.truetype(str(fonts_dir() / FONT_FILE), em)


def _fit_tag(text: str, width: int, height: int) -> str:
    """Shrink a cue whose longest word is wider than the safe width (libass cannot break a
    word, so it would run into the margin); "" when every word fits, as is usual."""
    area = safe_area(width, height)
    size = _font_size(width, height)
    room = width * (1 - area.left - area.right) - 2 * size * 0.12  # outline + shadow
    widest = max((_font(size).getlength(w) for w in text.split()), default=0.0)
    if widest <= room:
        return ""
    scale = max(10, int(100 * room / widest))
    return f"{{\\fscx{scale}\\fscy{scale}}}"


def _header(width: int, height: int) -> str:
    """Script info and one style whose sizes and margins follow the frame's safe area."""
    size = _font_size(width, height)
    outline = max(1.0, round(size * 0.08, 1))
    shadow = max(0.5, round(size * 0.04, 1))
    area = safe_area(width, height)
    margin_l, margin_r = round(width * area.left), round(width * area.right)
    margin_v = round(height * area.bottom)
    fields = (
        "Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
        "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
    )
    style = (
        f"Style: Caption,{FONT_NAME},{size},&H00FFFFFF,&H00FFFFFF,&H00101010,&H96000000,"
        f"-1,0,0,0,100,100,0,0,1,{outline},{shadow},2,{margin_l},{margin_r},{margin_v},1"
    )
    return (
        "[Script Info]\nScriptType: v4.00+\n"
        f"PlayResX: {width}\nPlayResY: {height}\n"
        "WrapStyle: 0\nScaledBorderAndShadow: yes\nYCbCr Matrix: TV.709\n\n"
        f"[V4+ Styles]\nFormat: {fields}\n{style}\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )


def _dialogue(start: float, end: float, text: str) -> str:
    return f"Dialogue: 0,{_timestamp(start)},{_timestamp(end)},Caption,,0,0,0,,{text}\n"


def _word_events(cue: Cue, prefix: str) -> list[str]:
    """One event per spoken word: the whole line, the current word in HIGHLIGHT.

    Only the colour changes, never the size, so every event wraps and places the line
    exactly like the others and the text does not jump as the highlight moves.
    """
    tokens = [escape_text(w.text) for w in cue.words]
    events = []
    for i, word in enumerate(cue.words):
        start = cue.start if i == 0 else word.start
        end = cue.words[i + 1].start if i + 1 < len(cue.words) else cue.end
        if _timestamp(end) <= _timestamp(start):
            continue  # shorter than the format's centisecond (a dash spoken with its word)
        shown = [*tokens[:i], f"{{\\1c{HIGHLIGHT}}}{tokens[i]}{{\\r}}", *tokens[i + 1 :]]
        events.append(_dialogue(start, end, prefix + " ".join(shown)))
    return events


def write_ass(
    cues: Sequence[Cue],
    path: Path,
    width: int,
    height: int,
    *,
    word_captions: bool | None = None,
) -> Path:
    """Write `cues` as an ASS file whose coordinates are the output's pixels (see ass_text)."""
    path.write_text(ass_text(cues, width, height, word_captions=word_captions), encoding="utf-8")
    return path


def ass_text(
    cues: Sequence[Cue],
    width: int,
    height: int,
    *,
    word_captions: bool | None = None,
    window: float | None = None,
) -> str:
    """`cues` as ASS text whose coordinates are the output's pixels.

    `word_captions` highlights each word while it is spoken (cues that carry word timings);
    None picks the default for the frame shape (see word_captions_default). With `window`,
    only the events shown within [0, window) seconds are kept: a segment's captions.
    """
    if word_captions is None:
        word_captions = word_captions_default(width, height)
    lines = [_header(width, height)]
    for cue in cues:
        text = escape_text(cue.text)
        if not text.strip() or cue.end <= cue.start:
            continue
        prefix = _fit_tag(cue.text, width, height)
        if word_captions and cue.words and " ".join(w.text for w in cue.words) == cue.text:
            timed = _word_events(cue, prefix)
            if timed:
                lines += timed
                continue
        lines.append(_dialogue(cue.start, cue.end, prefix + text))
    if window is not None:
        lines = [lines[0], *(line for line in lines[1:] if _shown_within(line, window))]
    log.debug("event=ass_made events=%d words=%s", len(lines) - 1, word_captions)
    return "".join(lines)


def _shown_within(line: str, window: float) -> bool:
    """Whether a Dialogue line is on screen at some time in [0, window)."""
    start, end = (_seconds(stamp) for stamp in line.split(",", 3)[1:3])
    return end > 0 and start < window and end > start


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
