"""Remote speech through an OpenAI-compatible audio/speech endpoint.

It returns (int16 mono samples, rate) exactly like the offline engines, so narration can time
each sentence the same way. WAV is requested and decoded with `wave`; anything else a server
sends instead (mp3, flac, odd WAV variants) is decoded with PyAV.
"""

from __future__ import annotations

import io
import logging
import time
import wave

import av
import numpy as np

from sora_app.providers.http import UpstreamBadResponse, UpstreamClient

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 4096
"""OpenAI's limit per request; longer text is sent in several requests and joined."""
PCM_RATE = 24_000
"""Raw `audio/pcm` from OpenAI-style servers is 24 kHz 16-bit little-endian mono."""
MIN_SPEED, MAX_SPEED = 0.25, 4.0


def _chunks(text: str, limit: int = MAX_INPUT_CHARS) -> list[str]:
    """Split at spaces into pieces under the input limit (a sentence is almost always one)."""
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > limit:
            pieces.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def synthesize_remote(
    client: UpstreamClient,
    model: str,
    voice: str,
    text: str,
    *,
    speed: float = 1.0,
) -> tuple[np.ndarray, int]:
    """Speak text with an upstream voice name; returns int16 mono samples and their rate."""
    pieces = _chunks(text)
    if not pieces:
        raise ValueError("text to speak must not be empty")
    started = time.perf_counter()
    parts: list[np.ndarray] = []
    rate = 0
    for piece in pieces:
        body = {
            "model": model,
            "voice": voice,
            "input": piece,
            "response_format": "wav",
            "speed": max(MIN_SPEED, min(float(speed), MAX_SPEED)),
        }
        response = client.request("POST", "audio/speech", json=body)
        samples, piece_rate = decode_audio(
            client, response.content, response.headers.get("Content-Type", "")
        )
        if rate and piece_rate != rate:
            what = f"changed sample rate mid-text ({rate} -> {piece_rate})"
            raise client.target.error(UpstreamBadResponse, what, 502)
        rate = piece_rate
        parts.append(samples)
    audio = np.concatenate(parts)
    log.debug(
        "tts_remote upstream=%s model=%s voice=%s chars=%d seconds=%.2f ms=%.0f",
        client.target.name, model, voice, len(text), len(audio) / rate,
        (time.perf_counter() - started) * 1e3,
    )  # fmt: skip
    return audio, rate


def decode_audio(
    client: UpstreamClient, data: bytes, content_type: str = ""
) -> tuple[np.ndarray, int]:
    """Decode any speech body to int16 mono: WAV natively, raw PCM by header, else PyAV."""
    if not data:
        raise client.target.error(UpstreamBadResponse, "sent an empty audio body", 502)
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            return _decode_wav(data)
        except (wave.Error, EOFError, ValueError) as exc:
            log.debug("tts_remote wav_fallback reason=%r", str(exc))
    elif content_type.split(";")[0].strip() == "audio/pcm":
        usable = len(data) - len(data) % 2
        return np.frombuffer(data[:usable], dtype="<i2").astype(np.int16), PCM_RATE
    try:
        return _decode_av(data)
    except (av.FFmpegError, IndexError, ValueError) as exc:
        what = f"sent audio that could not be decoded ({type(exc).__name__})"
        raise client.target.error(UpstreamBadResponse, what, 502) from None


def _decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """8/16/32-bit integer PCM WAV to int16 mono; other encodings raise for the PyAV path."""
    with wave.open(io.BytesIO(data)) as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    if width == 1:
        ints = (np.frombuffer(frames, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif width == 2:
        ints = np.frombuffer(frames[: len(frames) - len(frames) % 2], dtype="<i2").astype(np.int32)
    elif width == 4:
        ints = np.frombuffer(frames[: len(frames) - len(frames) % 4], dtype="<i4") >> 16
    else:
        raise ValueError(f"unsupported WAV sample width {width}")
    if ints.size == 0:
        raise ValueError("WAV header promised no frames")
    ints = ints[: ints.size - ints.size % channels].reshape(-1, channels).mean(axis=1)
    return np.clip(np.round(ints), -32768, 32767).astype(np.int16), rate


def _decode_av(data: bytes) -> tuple[np.ndarray, int]:
    """Decode the first audio stream at its own rate, resampled to packed s16 mono."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        if rate <= 0:
            raise ValueError("audio stream has no sample rate")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        parts = []
        for frame in container.decode(stream):
            parts.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
        parts.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    if not parts:
        raise ValueError("audio stream held no samples")
    return np.concatenate(parts).astype(np.int16), rate
