"""Write ASS subtitles sized to the output frame, for libass to burn in during the encode."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import font_roboto

from sora_app.pipeline.types import Cue

log = logging.getLogger(__name__)

FONT_NAME = "Roboto"
"""Family of the bundled Roboto-Bold.ttf; styles set Bold so libass picks that file."""
FONT_SIZE_FRACTION = 0.062
"""Font size as a share of the frame width (≈67 px on a 1080-wide portrait video)."""
BOTTOM_MARGIN_FRACTION = 0.11
"""Distance of the text baseline block from the bottom, keeping it in the bottom ~20 %."""
SIDE_MARGIN_FRACTION = 0.07


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


def _header(width: int, height: int) -> str:
    """Script info and one style whose sizes scale with the frame."""
    size = max(8, round(width * FONT_SIZE_FRACTION))
    outline = max(1.0, round(size * 0.08, 1))
    shadow = max(0.5, round(size * 0.04, 1))
    margin_v = round(height * BOTTOM_MARGIN_FRACTION)
    margin_lr = round(width * SIDE_MARGIN_FRACTION)
    fields = (
        "Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
        "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
    )
    style = (
        f"Style: Caption,{FONT_NAME},{size},&H00FFFFFF,&H00FFFFFF,&H00101010,&H96000000,"
        f"-1,0,0,0,100,100,0,0,1,{outline},{shadow},2,{margin_lr},{margin_lr},{margin_v},1"
    )
    return (
        "[Script Info]\nScriptType: v4.00+\n"
        f"PlayResX: {width}\nPlayResY: {height}\n"
        "WrapStyle: 0\nScaledBorderAndShadow: yes\nYCbCr Matrix: TV.709\n\n"
        f"[V4+ Styles]\nFormat: {fields}\n{style}\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )


def write_ass(cues: Sequence[Cue], path: Path, width: int, height: int) -> Path:
    """Write `cues` as an ASS file whose coordinates are the output's pixels."""
    lines = [_header(width, height)]
    for cue in cues:
        text = escape_text(cue.text)
        if not text.strip() or cue.end <= cue.start:
            continue
        start, end = _timestamp(cue.start), _timestamp(cue.end)
        lines.append(f"Dialogue: 0,{start},{end},Caption,,0,0,0,,{text}\n")
    path.write_text("".join(lines), encoding="utf-8")
    log.debug("event=ass_written path=%s cues=%d", path.name, len(lines) - 1)
    return path
