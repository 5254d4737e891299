"""The compile's filters, and the single-pass compile: stills + narration in one ffmpeg run.

Jobs render through pipeline.segments, which runs these same filters one segment at a time
so a re-render reuses what did not change; `compile_video` stays as the reference it is
measured against (bench/rerender.py) and as the test oracle for what a segment shows.

Motion is a moving crop over a still scaled once per scene: crop only shifts frame pointers,
so the filters cost almost nothing and x264 sees whole-pixel translation. Dissolves run xfade
on just the overlap frames. Measured (10 scenes, 60 s, 1080x1920, 2 cores): ~16-18 s wall,
~30 CPU-s, vs ~10-12 s for encoding the stills with no motion; zoompan or per-frame scaling
cost 26-31 s, and a full-length xfade chain alone added ~10 s.

A rendered scene's title is a separate transparent layer laid over the moving picture at a
fixed place, so no pan slides it off the frame. The crop window always lies inside the scaled
still, so no frame ever shows an edge of the picture (tests/pipeline/test_edges.py decodes
every frame to hold that for every aspect ratio, pacing and picture size).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sora_app.pipeline import subtitles
from sora_app.pipeline.compile_audio import audio_graph, bed_inputs, choose_bed
from sora_app.pipeline.ffmpeg import STALL_SECONDS, run_ffmpeg
from sora_app.pipeline.images import title_layer_path
from sora_app.pipeline.probe import probe, video_info
from sora_app.pipeline.types import (
    CancelCheck,
    Cancelled,
    CompileOptions,
    Narration,
    ProgressFn,
    StageError,
    VideoInfo,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pacing:
    """How fast the camera drifts and how long scenes dissolve into each other."""

    crossfade: float
    """Seconds of each dissolve."""
    speed: float
    """Pan speed in frame widths per second."""


PACINGS = {
    "slow": Pacing(crossfade=0.8, speed=0.014),
    "moderate": Pacing(crossfade=0.6, speed=0.02),
    "dynamic": Pacing(crossfade=0.45, speed=0.028),
    "fast": Pacing(crossfade=0.3, speed=0.036),
}
MAX_OVERSCALE = 1.3
"""Never crop away more than this much of an image to make room for the pan."""
MIN_OVERSCALE = 1.03
X264_PARAMS = "me=dia:subme=1"
"""On top of preset veryfast: the crop pans are whole-pixel translations, so a diamond search
with one subpel pass finds them as well as hex/subme=2 does, for ~30 % less encode time
(measured: 16 s vs 22 s for 60 s of 1080x1920; files ~5 % larger at the same crf)."""
DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1))
"""Pan directions (dx, dy) in crop-window movement; diagonals add variety."""


@dataclass(frozen=True)
class Clip:
    """One scene's slice of the timeline, in frames, including its dissolve overlap."""

    index: int
    start: int
    frames: int


def plan_clips(
    spans: Sequence[tuple[float, float]], duration: float, fps: int, fade: float
) -> tuple[list[Clip], int, int]:
    """Lay scenes on a frame grid so dissolves are centred on span boundaries and sum to D."""
    total = max(1, round(duration * fps))
    bounds = [0] + [min(total, max(0, round(a * fps))) for a, _ in spans[1:]] + [total]
    for k in range(1, len(bounds)):
        bounds[k] = max(bounds[k], bounds[k - 1] + 1)
    if bounds[-1] != total:
        raise StageError("COMPILE_INPUT", "scene spans are too short for the video frame rate")
    lengths = [b - a for a, b in itertools.pairwise(bounds)]
    half = round(fade * fps / 2)
    if len(lengths) > 1:
        inner = [n // 2 for n in lengths[1:-1]]
        half = max(0, min([half, lengths[0], lengths[-1], *inner]))
    else:
        half = 0
    clips = []
    for i in range(len(lengths)):
        start = bounds[i] - (half if i > 0 else 0)
        end = bounds[i + 1] + (half if i < len(lengths) - 1 else 0)
        clips.append(Clip(index=i, start=start, frames=end - start))
    return clips, 2 * half, total


def _even(value: float) -> int:
    """yuv420p wants even sizes."""
    return max(2, round(value / 2) * 2)


def scene_pieces(
    clip: Clip,
    n_clips: int,
    fade: int,
    opts: CompileOptions,
    pacing: Pacing,
    direction: tuple[int, int],
    title_input: int | None = None,
    image_input: int | None = None,
    kinds: str = "hbt",
    label: int | None = None,
) -> list[str]:
    """Scale the still once, then loop + slide a crop window for each piece of the clip.

    The clip is cut into head overlap / body / tail overlap so that the dissolve (xfade)
    only ever sees the few overlap frames; a full-length xfade chain cost ~2x the encode.
    The window's corner moves from 0 to (scaled size - frame size), never beyond, so the
    picture always covers the frame. A title layer (input `title_input`) is laid over each
    piece after the crop: it stays put while the picture drifts, and dissolves with its scene.
    The still is input `image_input` (default: the clip's index); `kinds` picks which of the
    head (h), body (b) and tail (t) pieces to make, and `label` numbers their outputs instead
    of the clip's index, for renders of one segment at a time (pipeline.segments).
    """
    w, h, fps = opts.width, opts.height, opts.fps
    i = clip.index if label is None else label
    dx, dy = direction
    travel = pacing.speed * w * clip.frames / fps
    scale = max(MIN_OVERSCALE, 1 + abs(dx) * travel / w, 1 + abs(dy) * travel / h)
    sw, sh = _even(w * min(MAX_OVERSCALE, scale)), _even(h * min(MAX_OVERSCALE, scale))
    last = max(1, clip.frames - 1)

    def axis(d: int, margin: int, offset: int) -> str:
        if d == 0:
            return str(margin // 2)
        a, b = (0, margin) if d > 0 else (margin, 0)
        return f"{a}+({b - a})*(n+{offset})/{last}"

    head = fade if clip.index > 0 else 0
    tail = fade if clip.index < n_clips - 1 else 0
    pieces = [("h", 0, head), ("b", head, clip.frames - head - tail)]
    pieces.append(("t", clip.frames - tail, tail))
    pieces = [p for p in pieces if p[2] > 0 and p[0] in kinds]
    outs = "".join(f"[{kind}{i}]" for kind, _, _ in pieces)
    split = f"split={len(pieces)}{outs}" if len(pieces) > 1 else f"null{outs}"
    source = clip.index if image_input is None else image_input
    parts = [
        f"[{source}:v]scale={sw}:{sh}:force_original_aspect_ratio=increase:flags=bicubic"
        f":out_range=tv,crop={sw}:{sh},setsar=1,format=yuv420p,{split}"
    ]
    if title_input is not None:
        copies = "".join(f"[{kind}{i}title]" for kind, _, _ in pieces)
        parts.append(f"[{title_input}:v]format=yuva420p,split={len(pieces)}{copies}")
    for kind, offset, count in pieces:
        moving = f"[{kind}{i}v]" if title_input is None else f"[{kind}{i}m]"
        parts.append(
            f"[{kind}{i}]loop=loop={count - 1}:size=1,settb=1/{fps},setpts=N,"
            f"crop={w}:{h}:x='{axis(dx, sw - w, offset)}':y='{axis(dy, sh - h, offset)}'"
            f"{moving}"
        )
        if title_input is not None:
            # A one-frame overlay input is repeated after its end (eof_action's default).
            parts.append(f"{moving}[{kind}{i}title]overlay=0:0:format=yuv420[{kind}{i}v]")
    return parts


def pan_directions(count: int, seed: int) -> list[tuple[int, int]]:
    """Pick a pan per scene from the seed, never repeating the previous scene's direction."""
    rng = random.Random(f"compile-motion:{seed}")
    chosen: list[tuple[int, int]] = []
    for _ in range(count):
        options = [d for d in DIRECTIONS if not chosen or d != chosen[-1]]
        chosen.append(rng.choice(options))
    return chosen


def _video_graph(
    clips: list[Clip],
    fade_frames: int,
    opts: CompileOptions,
    subs: bool,
    thumb_frame: int | None = None,
    title_inputs: Sequence[int | None] = (),
) -> list[str]:
    """Per-scene motion pieces, short xfade dissolves, one concat, then burned-in captions."""
    pacing = PACINGS.get(opts.pacing, PACINGS["moderate"])
    dirs = pan_directions(len(clips), opts.seed)
    titles = list(title_inputs) + [None] * (len(clips) - len(title_inputs))
    parts: list[str] = []
    for clip in clips:
        direction, title = dirs[clip.index], titles[clip.index]
        parts += scene_pieces(clip, len(clips), fade_frames, opts, pacing, direction, title)
    order: list[str] = []
    for clip in clips:
        i = clip.index
        if i > 0 and fade_frames > 0:
            parts.append(
                f"[t{i - 1}v][h{i}v]xfade=transition=fade:duration={fade_frames / opts.fps:.6f}"
                f":offset=0[f{i}]"
            )
            order.append(f"[f{i}]")
        if any(p.endswith(f"[b{i}v]") for p in parts):
            order.append(f"[b{i}v]")
    tail = "subtitles=subs.ass:fontsdir=fonts" if subs else "null"
    # The poster frame branches off the finished picture: no second ffmpeg run to seek and
    # decode the encoded file afterwards (~0.3 s), and it is taken before lossy encoding.
    outs = "[vout]" if thumb_frame is None else ",split=2[vout][vthumb]"
    if len(order) > 1:
        parts.append(f"{''.join(order)}concat=n={len(order)}:v=1:a=0,{tail}{outs}")
    else:
        parts.append(f"{order[0]}{tail}{outs}")
    if thumb_frame is not None:
        parts.append(f"[vthumb]trim=start_frame={thumb_frame}:end_frame={thumb_frame + 1}[thumb]")
    return parts


def build_args(
    images: Sequence[Path],
    narration: Narration,
    out_path: Path,
    opts: CompileOptions,
    thumb_path: Path | None = None,
) -> tuple[list[str], int]:
    """The whole ffmpeg command line (run inside the work dir holding subs.ass and fonts/).

    With `thumb_path`, the same run also writes the JPEG poster frame there.
    """
    pacing = PACINGS.get(opts.pacing, PACINGS["moderate"])
    clips, fade_frames, total = plan_clips(
        narration.scene_spans, narration.duration, opts.fps, pacing.crossfade
    )
    args: list[str] = []
    for image in images:
        args += ["-framerate", str(opts.fps), "-i", str(Path(image).resolve())]
    args += ["-i", str(Path(narration.audio_path).resolve())]
    title_inputs: list[int | None] = []
    next_input = len(images) + 1
    for image in images:
        layer = title_layer_path(Path(image))
        if not layer.is_file():
            title_inputs.append(None)
            continue
        args += ["-i", str(layer.resolve())]
        title_inputs.append(next_input)
        next_input += 1
    thumb_frame = None
    if thumb_path is not None:
        thumb_frame = min(total - 1, round(min(1.0, narration.duration / 2) * opts.fps))
    graph = _video_graph(clips, fade_frames, opts, opts.subtitles, thumb_frame, title_inputs)
    bed = choose_bed(opts, narration.duration)
    args += bed_inputs(bed)
    graph += audio_graph(len(images), narration.duration, bed, opts.seed, bed_input=next_input)
    # One graph: split audio/video graphs measured slower and buffered ~1 GB of raw frames.
    args += ["-filter_complex", ";".join(graph), "-map", "[vout]", "-map", "[aout]"]
    args += ["-r", str(opts.fps), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"]
    if X264_PARAMS:
        args += ["-x264-params", X264_PARAMS]
    args += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ar", "48000"]
    # The fast AAC coder: half the CPU of the default two-loop search (0.9 vs 1.8 s for 55 s
    # of audio); at 128k the identical-channel speech + bed has bits to spare either way.
    args += ["-aac_coder", "fast"]
    args += ["-frames:v", str(total), "-t", f"{total / opts.fps:.6f}", "-shortest"]
    args += ["-movflags", "+faststart", "-y", str(Path(out_path).resolve())]
    if thumb_path is not None:
        args += ["-map", "[thumb]", "-frames:v", "1", "-update", "1", "-q:v", "3"]
        args += ["-y", str(Path(thumb_path).resolve())]
    return args, fade_frames


def validate_inputs(images: Sequence[Path], narration: Narration, opts: CompileOptions) -> None:
    """Refuse inputs that would make ffmpeg fail late or produce a wrong-length video."""
    if not images:
        raise StageError("COMPILE_INPUT", "no scene images to compile")
    if len(images) != len(narration.scene_spans):
        raise StageError(
            "COMPILE_INPUT",
            f"{len(images)} images but {len(narration.scene_spans)} narration scenes",
        )
    missing = [Path(p).name for p in images if not Path(p).is_file()]
    if missing:
        raise StageError("COMPILE_INPUT", f"missing scene images: {', '.join(missing)}")
    if not Path(narration.audio_path).is_file():
        raise StageError("COMPILE_INPUT", "narration audio file is missing")
    if narration.duration <= 0:
        raise StageError("COMPILE_INPUT", "narration has no duration")
    if opts.music and opts.music_path and not Path(opts.music_path).is_file():
        raise StageError("COMPILE_INPUT", f"music track not found: {Path(opts.music_path).name}")
    if opts.width < 16 or opts.height < 16 or opts.fps <= 0:
        raise StageError("COMPILE_INPUT", f"bad output size {opts.width}x{opts.height}")


def _ignore_progress(_fraction: float, _status: str) -> None:
    """The thumbnail grab is too short to be worth reporting."""


def grab_thumbnail(video: Path, at: float, stall_seconds: float = STALL_SECONDS) -> Path | None:
    """Grab a JPEG poster frame; a missing thumbnail must never fail the job."""
    thumb = video.with_suffix(".jpg")
    args = ["-ss", f"{max(0.0, at):.3f}", "-i", str(video), "-frames:v", "1"]
    args += ["-update", "1", "-q:v", "3", "-y", str(thumb)]
    try:
        run_ffmpeg(
            args, 0, _ignore_progress, lambda: False, "Thumbnail", stall_seconds=stall_seconds
        )
    except StageError as exc:
        log.warning("event=thumbnail_failed path=%s error=%s", video.name, exc.message)
        return None
    return thumb if thumb.is_file() else None


def compile_video(
    images: Sequence[Path],
    narration: Narration,
    out_path: Path,
    options: CompileOptions,
    progress: ProgressFn,
    should_cancel: CancelCheck = lambda: False,
    stall_seconds: float = STALL_SECONDS,
) -> VideoInfo:
    """Render the final video in one ffmpeg pass so every frame is encoded exactly once.

    A hung ffmpeg (no progress for `stall_seconds`) is killed and fails with FFMPEG_STALLED.
    """
    validate_inputs(images, narration, options)
    out_path = Path(out_path)
    started = time.monotonic()
    thumb_path = out_path.with_suffix(".jpg")
    args, fade_frames = build_args(images, narration, out_path, options, thumb_path)
    log.info(
        "event=compile_start scenes=%d duration_s=%.2f size=%dx%d fps=%d pacing=%s "
        "fade_frames=%d music=%s mood=%s track=%s subtitles=%s",
        len(images), narration.duration, options.width, options.height, options.fps,
        options.pacing, fade_frames, options.music, options.music_mood,
        bool(options.music_path), options.subtitles,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(
        prefix=f"{out_path.name}.compile-", dir=out_path.parent
    ) as work:
        workdir = Path(work)
        subtitles.write_ass(
            narration.cues, workdir / "subs.ass", options.width, options.height,
            word_captions=options.word_captions,
        )  # fmt: skip
        os.symlink(subtitles.fonts_dir(), workdir / "fonts", target_is_directory=True)
        try:
            run_ffmpeg(
                args, narration.duration, progress, should_cancel, "Encoding video", workdir,
                stall_seconds=stall_seconds,
            )  # fmt: skip
        except (Cancelled, StageError, OSError):
            for path in (out_path, thumb_path):
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
    thumb: Path | None = thumb_path
    if not thumb_path.is_file():  # pragma: no cover - the in-run poster frame is best effort
        thumb = grab_thumbnail(out_path, min(1.0, narration.duration / 2), stall_seconds)
    info = probe(out_path)
    log.info(
        "event=compile_done path=%s duration_s=%.3f elapsed_s=%.2f bytes=%d",
        out_path.name, info.duration, time.monotonic() - started, out_path.stat().st_size,
    )  # fmt: skip
    return video_info(out_path, info, thumb)
