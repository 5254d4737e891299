"""The Videos API's other content variants: a WebP thumbnail and a spritesheet of frames.

Both are made on request from what a render already left (its JPEG thumbnail, its video):
they are small, asked for rarely, and so need no files of their own to keep or delete.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
from PIL import Image

SPRITE_COLUMNS, SPRITE_ROWS = 5, 2
SPRITE_WIDTH = 256
"""Each frame's width in the sheet; its height follows the video's shape."""


def webp_of(picture: Path, quality: int = 85) -> bytes:
    """A picture (the render's JPEG thumbnail) as WebP, the variant's documented type."""
    with Image.open(picture) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "WEBP", quality=quality)
    return buffer.getvalue()


def spritesheet(video: Path, columns: int = SPRITE_COLUMNS, rows: int = SPRITE_ROWS) -> bytes:
    """Frames at even steps through the video, left to right then down, as one JPEG."""
    frames = _frames(video, columns * rows)
    if not frames:
        raise ValueError(f"{video.name} has no frames to show")
    width = SPRITE_WIDTH
    height = round(width * frames[0].height / frames[0].width / 2) * 2
    sheet = Image.new("RGB", (width * columns, height * rows))
    for i, frame in enumerate(frames):
        tile = frame.resize((width, height), Image.Resampling.LANCZOS)
        sheet.paste(tile, ((i % columns) * width, (i // columns) * height))
    buffer = io.BytesIO()
    sheet.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _frames(video: Path, count: int) -> list[Image.Image]:
    """`count` frames from the middles of equal slices of the video (seek, then decode on)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        length = float(container.duration or 0) / av.time_base
        if length <= 0 and stream.duration and stream.time_base:
            length = float(stream.duration * stream.time_base)
        frames: list[Image.Image] = []
        for i in range(count):
            at = length * (i + 0.5) / count
            container.seek(int(at * av.time_base), any_frame=False, backward=True)
            frame = _first_at_or_after(container, stream, at)
            if frame is not None:
                frames.append(frame)
        return frames


def _first_at_or_after(container, stream, at: float) -> Image.Image | None:
    last = None
    for frame in container.decode(stream):
        last = frame
        if frame.time is None or frame.time >= at - 1e-3:
            break
    return last.to_image() if last is not None else None
