"""Uploaded sounds (a music bed, a recorded voice): checked by their bytes, kept as AAC.

The container's own header decides what a file is; a sound whose header claims more than
the limit is refused before anything is decoded, and the transcode stops at the limit
anyway, so a header that lies (a 1 MB file that decodes to ten hours) costs at most one
limit's worth of decoding. Keeping one format means the renderer meets no surprises.
"""

from __future__ import annotations

from pathlib import Path

import av

from ..errors import APIError
from ..pipeline.ffmpeg import run_ffmpeg
from ..pipeline.probe import probe
from ..pipeline.types import StageError

ACCEPTED_FORMATS = {
    "wav": "WAV",
    "mp3": "MP3",
    "flac": "FLAC",
    "ogg": "Ogg (Vorbis/Opus)",
    "mov,mp4,m4a,3gp,3g2,mj2": "M4A/AAC",
    "aac": "AAC",
    "webm": "WebM (Opus)",
    "matroska,webm": "WebM (Opus)",
}
"""PyAV's demuxer names for what a phone or an audio editor exports."""
MIN_SECONDS = 0.5
BITRATE = "160k"


def _invalid(field: str, message: str, code: str = "INVALID_AUDIO") -> APIError:
    return APIError(400, code, message, field=field)


def claimed_seconds(path: Path, field: str) -> float | None:
    """Whether the bytes are a sound we take, and how long its header says it is.

    None: no length in the header (raw streams); the transcode's limit still holds.
    """
    try:
        with av.open(str(path), mode="r") as container:
            fmt = container.format.name
            if fmt not in ACCEPTED_FORMATS or not container.streams.audio:
                raise _unsupported(field)
            if container.duration is None:
                return None
            return container.duration / av.time_base
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        raise _unsupported(field) from None


def _unsupported(field: str) -> APIError:
    kinds = ", ".join(dict.fromkeys(ACCEPTED_FORMATS.values()))
    return APIError(
        400, "UNSUPPORTED_MEDIA",
        f"The file is neither a picture (JPEG, PNG, WebP) nor a sound ({kinds}).", field=field,
    )  # fmt: skip


def store_sound(staging: Path, out: Path, max_seconds: float, field: str = "file") -> float:
    """Check, then transcode to 48 kHz stereo AAC at `out`; returns its seconds."""
    claimed = claimed_seconds(staging, field)
    if claimed is not None and claimed > max_seconds:
        raise _too_long(claimed, max_seconds, field)
    part = out.with_name(f".{out.name}.part.m4a")
    try:
        run_ffmpeg(
            ["-i", str(staging), "-map", "0:a:0", "-vn", "-sn", "-dn",
             "-t", f"{max_seconds + 1:.3f}", "-ac", "2", "-ar", "48000",
             "-c:a", "aac", "-b:a", BITRATE, "-y", str(part)],
            claimed or max_seconds, lambda _f, _s: None, lambda: False, "Storing a sound",
        )  # fmt: skip
        seconds = probe(part).duration
        if seconds > max_seconds:
            raise _too_long(seconds, max_seconds, field)
        if seconds < MIN_SECONDS:
            raise _invalid(field, f"The sound lasts {seconds:.2f} s; at least {MIN_SECONDS} s.")
        part.replace(out)
    except StageError:
        raise _invalid(field, "The sound is damaged or cannot be decoded.") from None
    finally:
        part.unlink(missing_ok=True)
    return round(seconds, 3)


def _too_long(seconds: float, limit: float, field: str) -> APIError:
    return _invalid(
        field, f"The sound lasts {seconds:.0f} s; at most {limit:.0f} s.", "AUDIO_TOO_LONG"
    )
