"""Hostile and awkward image files for upload and pipeline tests, made with real encoders."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tall_png(height: int, width: int = 1) -> bytes:
    """A real, valid 8-bit grey PNG of width x height: a few dozen KB that decode to ~GBs.

    Rows are compressed in a stream so the test never holds the raw pixels either.
    """
    rows_per_block = 1 << 16
    block = b"\x00" * ((1 + width) * rows_per_block)
    packer, parts, left = zlib.compressobj(9), [], height
    while left:
        rows = min(left, rows_per_block)
        parts.append(packer.compress(block[: (1 + width) * rows]))
        left -= rows
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", header), _png_chunk(b"IDAT", b"".join(parts)))
    ) + _png_chunk(b"IEND", b"")


def noisy(size: tuple[int, int] = (300, 200), seed: int = 0) -> Image.Image:
    """Random pixels, so encoded files are large enough to cut and cannot be guessed."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def encoded(img: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def cut_in_half(data: bytes) -> bytes:
    """What a dropped connection or a full disk leaves behind."""
    return data[: len(data) // 2]


def two_tone(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    img = Image.new("RGB", size, (255, 0, 0))
    img.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return img


def rotated_jpeg(size: tuple[int, int], orientation: int = 6) -> bytes:
    """A camera-style JPEG: pixels stored sideways, EXIF Orientation saying how to show them."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(two_tone(size), "JPEG", quality=95, exif=exif.tobytes())


def _peak_rss_kb() -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/self/status")


@contextmanager
def peak_rss_growth() -> Iterator[list[int]]:
    """Measure how far this process's peak resident memory rises inside the block, in MB.

    Pillow allocates pixels with C malloc, which tracemalloc cannot see, so the kernel's
    high-water mark is reset (Linux clear_refs) and read back instead.
    """
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        pytest.skip("needs Linux /proc/self/clear_refs to reset the peak RSS")
    before, result = _peak_rss_kb(), []
    yield result
    result.append((_peak_rss_kb() - before) // 1024)
