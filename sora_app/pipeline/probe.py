"""Inspect media with PyAV, because the bundled ffmpeg ships without ffprobe."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from sora_app.pipeline.types import StageError, VideoInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaInfo:
    """What later stages and tests need to know about a media file."""

    duration: float
    has_video: bool
    has_audio: bool
    video_codec: str | None = None
    width: int = 0
    height: int = 0
    fps: float = 0.0
    audio_codec: str | None = None
    audio_sample_rate: int = 0


def video_info(path: Path, media: MediaInfo, thumbnail: Path | None) -> VideoInfo:
    """A finished video as a stage reports it, from its probe."""
    return VideoInfo(
        path=path,
        duration=media.duration,
        width=media.width,
        height=media.height,
        size_bytes=path.stat().st_size,
        thumbnail=thumbnail,
    )


def _open(path: Path) -> av.container.InputContainer:
    """Open for reading, turning every PyAV/OS failure into one user-facing error."""
    if not Path(path).is_file():
        raise StageError("BAD_MEDIA", f"media file not found: {Path(path).name}")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise StageError("BAD_MEDIA", f"cannot read media {Path(path).name}: {exc}") from exc


def _duration(container: av.container.InputContainer) -> float:
    """Container duration, falling back to the longest stream when the header lacks it."""
    if container.duration is not None:
        return container.duration / av.time_base
    best = 0.0
    for stream in container.streams:
        if stream.duration is not None and stream.time_base is not None:
            best = max(best, float(stream.duration * stream.time_base))
    return best


def probe(path: Path) -> MediaInfo:
    """Read duration, codecs, size and rates without decoding any frames."""
    with _open(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise StageError("BAD_MEDIA", f"no audio or video streams in {Path(path).name}")
        rate = (video.average_rate or video.guessed_rate) if video is not None else None
        info = MediaInfo(
            duration=_duration(container),
            has_video=video is not None,
            has_audio=audio is not None,
            video_codec=video.codec_context.name if video is not None else None,
            width=video.codec_context.width if video is not None else 0,
            height=video.codec_context.height if video is not None else 0,
            fps=float(rate) if rate else 0.0,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_sample_rate=audio.codec_context.sample_rate if audio is not None else 0,
        )
    log.debug("event=probe path=%s duration=%.3f", Path(path).name, info.duration)
    return info


def decode_frame_at(path: Path, seconds: float) -> Image.Image:
    """Decode the frame shown at `seconds`, so tests can look at real output pixels."""
    with _open(path) as container:
        if not container.streams.video:
            raise StageError("BAD_MEDIA", f"no video stream in {Path(path).name}")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            container.seek(int(max(0.0, seconds) * av.time_base), backward=True, any_frame=False)
            last = None
            for frame in container.decode(stream):
                if frame.time is not None and frame.time > seconds + 1e-6 and last is not None:
                    break
                last = frame
        except av.FFmpegError as exc:
            raise StageError("BAD_MEDIA", f"cannot decode {Path(path).name}: {exc}") from exc
        if last is None:
            raise StageError("BAD_MEDIA", f"no frame at {seconds:.2f}s in {Path(path).name}")
        return last.to_image()
