"""Real, tiny media for the fake upstreams: PNG/JPEG/WebP images, WAV/MP3 speech, MP4 clips.

Everything is generated locally (Pillow, numpy, the ffmpeg bundled with imageio-ffmpeg) so the
fakes work on a bare machine and the bytes they serve decode like the real thing.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import threading
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageDraw

SAMPLE_RATE = 24_000
"""OpenAI's speech endpoint also answers at 24 kHz."""

_clip_lock = threading.Lock()


def _colour(seed: str, shift: int = 0) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{seed}:{shift}".encode()).digest()
    return digest[0], digest[1], digest[2]


def picture(width: int, height: int, seed: str, label: str = "") -> Image.Image:
    """A deterministic two-colour gradient with a label, so each fake image is recognisable."""
    top, bottom = np.array(_colour(seed, 0)), np.array(_colour(seed, 1))
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    image = Image.fromarray(np.broadcast_to(pixels, (height, width, 3)).copy(), "RGB")
    if label:
        ImageDraw.Draw(image).text((width // 20, height // 20), label[:60], fill=(255, 255, 255))
    return image


def encode_image(image: Image.Image, fmt: str) -> bytes:
    """PNG, JPEG or WebP bytes; JPEG/WebP at low quality since only decodability matters."""
    buffer = io.BytesIO()
    options = {"quality": 60} if fmt.upper() in {"JPEG", "WEBP"} else {}
    image.save(buffer, format=fmt.upper(), **options)
    return buffer.getvalue()


def speech_samples(text: str, speed: float = 1.0) -> np.ndarray:
    """Syllable-like tone bursts, one per word, so durations scale with the text like speech."""
    words = text.split() or ["..."]
    seconds_per_word = 0.32 / max(0.25, min(speed, 4.0))
    burst = int(SAMPLE_RATE * seconds_per_word)
    t = np.arange(burst) / SAMPLE_RATE
    envelope = np.sin(np.pi * np.arange(burst) / burst) ** 2
    chunks = []
    for i, word in enumerate(words[:600]):
        pitch = 140 + (sum(map(ord, word)) % 80) + 10 * (i % 3)
        tone = np.sin(2 * np.pi * pitch * t) + 0.3 * np.sin(2 * np.pi * 2 * pitch * t)
        chunks.append(0.3 * tone * envelope)
    samples = np.concatenate(chunks)
    return (np.clip(samples, -1, 1) * 32767).astype(np.int16)


def wav_bytes(samples: np.ndarray) -> bytes:
    """16-bit mono WAV at SAMPLE_RATE."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def transcode_audio(wav: bytes, fmt: str) -> bytes:
    """Encode WAV to mp3/flac through the bundled ffmpeg (pipes only, no temp files)."""
    codec = {"mp3": ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"], "flac": ["-f", "flac"]}
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", "pipe:0", *codec[fmt], "pipe:1"]
    return subprocess.run(cmd, input=wav, capture_output=True, check=True, timeout=60).stdout


def mp4_clip(cache_dir: Path, size: str, seconds: int) -> Path:
    """A real H.264/AAC MP4 (testsrc + sine), made once per size and length, then reused."""
    width, height = (int(v) for v in size.split("x"))
    path = cache_dir / f"clip-{width}x{height}-{seconds}s.mp4"
    with _clip_lock:
        if path.exists():
            return path
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part.mp4")
        # fmt: off
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate=12:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "48k", "-shortest", "-movflags", "+faststart", str(tmp),
        ]
        # fmt: on
        subprocess.run(cmd, capture_output=True, check=True, timeout=120)
        tmp.replace(path)
        return path


def thumbnail(size: str, seed: str, fmt: str = "WEBP") -> bytes:
    """The still a video would be previewed with, at the video's size."""
    width, height = (int(v) for v in size.split("x"))
    return encode_image(picture(width, height, seed, f"video {seed}"), fmt)


def spritesheet(size: str, seed: str, frames: int = 4) -> bytes:
    """A small JPEG strip of frames, the shape the real spritesheet variant has."""
    width, height = (int(v) // 8 for v in size.split("x"))
    sheet = Image.new("RGB", (width * frames, height))
    for i in range(frames):
        sheet.paste(picture(width, height, f"{seed}:{i}"), (i * width, 0))
    return encode_image(sheet, "JPEG")
