"""Compile a video as segments: each encoded once, kept by content hash, joined by stream copy.

The timeline is cut into a body segment per scene and a dissolve segment per scene boundary:
[body 0][dissolve 0→1][body 1] … Each is its own short ffmpeg run over the same filters as
the single-pass compile (pipeline.compile), with its captions cut to its window and shifted to
start at zero. Its key hashes everything that decides its pixels: the filter graph, the bytes
of its stills and title layers, its caption events and the encoder settings. Nothing absolute
goes in: the narration starts every scene on a frame boundary, so an edit that moves later
scenes in time moves them by whole frames and leaves their keys alone. After an edit only the
changed scenes' bodies and the dissolves that touch them are encoded again; the rest comes
from the artefact store, and the join copies the video stream while the narration and music
bed are mixed and encoded afresh (cheap, and global by nature).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from sora_app.pipeline import subtitles
from sora_app.pipeline.artefacts import ArtefactStore, digest, file_digest
from sora_app.pipeline.compile import (
    PACINGS,
    X264_PARAMS,
    Clip,
    _directions,
    _scene_pieces,
    _thumbnail,
    _validate,
    plan_clips,
)
from sora_app.pipeline.compile_audio import audio_graph
from sora_app.pipeline.ffmpeg import STALL_SECONDS, run_ffmpeg
from sora_app.pipeline.images import title_layer_path
from sora_app.pipeline.probe import probe, video_info
from sora_app.pipeline.types import (
    CancelCheck,
    Cancelled,
    CompileOptions,
    Cue,
    Narration,
    ProgressFn,
    VideoInfo,
    Word,
)

log = logging.getLogger(__name__)

KIND = "segments"
"""The artefact store's folder for encoded segments."""
FORMAT = 1
"""Part of every key: bump it when the way segments are made changes without their inputs."""
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-x264-params", X264_PARAMS]
ENCODE += ["-pix_fmt", "yuv420p"]
PARALLEL = 2
"""Segments encoded at once. With many to do, each gets one encoder thread and the two runs
fill both cores without the start-up and flush gaps of x264's frame threads (measured, 60 s
1080x1920: 15.3 s vs 17.5 s with default threads); with few (a re-render), x264 threads them.
The thread count is not part of a segment's key: it changes bits, not the picture."""
JOIN_SHARE = 0.06
"""Share of the progress bar for the join (stream copy + audio) after the last segment."""


@dataclass
class Segment:
    """One encoded piece of the timeline and everything its pixels depend on."""

    start: int
    """First frame, in the whole video's timeline."""
    frames: int
    graph: list[str]
    inputs: list[Path]
    captions: str
    """ASS text of the captions shown within the segment ("" when captions are off)."""
    scenes: tuple[int, ...]
    """The scenes it shows (one for a body, two for a dissolve)."""
    key: str = ""
    reused: bool = False
    path: Path | None = None
    digests: list[str] = field(default_factory=list)
    thumb_at: int | None = None
    """The frame (counted from the segment's first) that is also the video's poster."""


@dataclass
class SegmentReport:
    """What a segmented compile did, for the job's details, tests and the benchmark."""

    segments: list[Segment]
    encoded_frames: int
    info: VideoInfo

    @property
    def reused(self) -> int:
        return sum(1 for s in self.segments if s.reused)


def plan_segments(
    images: Sequence[Path], narration: Narration, opts: CompileOptions
) -> tuple[list[Segment], int]:
    """The segments of the timeline in order, and the video's total frames."""
    pacing = PACINGS.get(opts.pacing, PACINGS["moderate"])
    spans, fps = narration.scene_spans, opts.fps
    clips, fade, total = plan_clips(spans, narration.duration, fps, pacing.crossfade)
    directions = _directions(len(clips), opts.seed)
    layers = [title_layer_path(Path(image)) for image in images]
    titles = [layer if layer.is_file() else None for layer in layers]
    segments: list[Segment] = []
    for clip in clips:
        i = clip.index
        if i > 0 and fade > 0:
            segments.append(
                _dissolve(clips[i - 1], clip, len(clips), fade, images, titles, directions, opts)
            )
        head = fade if i > 0 else 0
        tail = fade if i < len(clips) - 1 else 0
        body = clip.frames - head - tail
        if body > 0:
            inputs = [Path(images[i])] + ([titles[i]] if titles[i] else [])
            graph = _scene_pieces(
                clip, len(clips), fade, opts, pacing, directions[i],
                title_input=1 if titles[i] else None, image_input=0, kinds="b", label=0,
            )  # fmt: skip
            graph.append("[b0v]{captions}[vout]")
            segments.append(Segment(clip.start + head, body, graph, inputs, "", (i,)))
    for segment in segments:
        segment.captions = _captions(segment, narration.cues, opts) if opts.subtitles else ""
    return segments, total


def _dissolve(
    before: Clip,
    after: Clip,
    n_clips: int,
    fade: int,
    images: Sequence[Path],
    titles: Sequence[Path | None],
    directions: Sequence[tuple[int, int]],
    opts: CompileOptions,
) -> Segment:
    """The crossfade from `before`'s tail into `after`'s head, as one segment."""
    pacing = PACINGS.get(opts.pacing, PACINGS["moderate"])
    inputs = [Path(images[before.index]), Path(images[after.index])]
    title_inputs: list[int | None] = []
    for clip in (before, after):
        layer = titles[clip.index]
        title_inputs.append(len(inputs) if layer else None)
        if layer:
            inputs.append(layer)
    graph = _scene_pieces(
        before, n_clips, fade, opts, pacing, directions[before.index],
        title_input=title_inputs[0], image_input=0, kinds="t", label=0,
    )  # fmt: skip
    graph += _scene_pieces(
        after, n_clips, fade, opts, pacing, directions[after.index],
        title_input=title_inputs[1], image_input=1, kinds="h", label=1,
    )  # fmt: skip
    seconds = fade / opts.fps
    graph.append(
        f"[t0v][h1v]xfade=transition=fade:duration={seconds:.6f}:offset=0,{{captions}}[vout]"
    )
    return Segment(after.start, fade, graph, inputs, "", (before.index, after.index))


def _captions(segment: Segment, cues: Sequence[Cue], opts: CompileOptions) -> str:
    """The segment's caption events, timed from its first frame."""
    begin = segment.start / opts.fps
    window = segment.frames / opts.fps
    shown = [_shift(c, begin) for c in cues if c.end > begin and c.start < begin + window]
    if not shown:
        return ""
    return subtitles.ass_text(
        shown, opts.width, opts.height, word_captions=opts.word_captions, window=window
    )


def _shift(cue: Cue, by: float) -> Cue:
    """The cue timed from `by`, to the microsecond: the same scene-relative time must give
    the same caption text wherever the scene sits, so float noise from the subtraction is
    rounded away before the caption times are (to centiseconds)."""

    def at(seconds: float) -> float:
        return round(seconds - by, 6)

    words = [Word(w.text, at(w.start), at(w.end)) for w in cue.words]
    return replace(cue, start=at(cue.start), end=at(cue.end), words=words)


def _key(segment: Segment, opts: CompileOptions, digests: dict[Path, str]) -> str:
    segment.digests = [digests.setdefault(p, file_digest(p)) for p in segment.inputs]
    return digest(
        {
            "format": FORMAT,
            "graph": segment.graph,
            "inputs": segment.digests,
            "captions": segment.captions,
            "frames": segment.frames,
            "fps": opts.fps,
            "size": [opts.width, opts.height],
            "encode": ENCODE,
        }
    )


def _render(
    segment: Segment,
    store: ArtefactStore,
    opts: CompileOptions,
    progress: ProgressFn,
    should_cancel: CancelCheck,
    stall_seconds: float,
    threads: int = 0,
) -> Path:
    """Encode one segment into the store (video only; the join adds the sound), with the
    video's poster frame beside it when the segment holds it."""
    made = store.temp_path(KIND, ".mp4")
    with tempfile.TemporaryDirectory(prefix="segment-", dir=made.parent) as work:
        folder = Path(work)
        captions = "null"
        if segment.captions:
            (folder / "subs.ass").write_text(segment.captions, encoding="utf-8")
            os.symlink(subtitles.fonts_dir(), folder / "fonts", target_is_directory=True)
            captions = "subtitles=subs.ass:fontsdir=fonts"
        graph = [part.replace("{captions}", captions) for part in segment.graph]
        thumb = folder / "thumb.jpg"
        if segment.thumb_at is not None:  # a branch of the finished picture, before encoding
            at = segment.thumb_at
            graph[-1] = graph[-1].replace("[vout]", ",split=2[vout][vthumb]")
            graph.append(f"[vthumb]trim=start_frame={at}:end_frame={at + 1}[thumb]")
        args: list[str] = []
        for path in segment.inputs:
            args += ["-framerate", str(opts.fps), "-i", str(Path(path).resolve())]
        if threads:  # the filters too: one core per run
            args += ["-filter_complex_threads", str(threads)]
        args += ["-filter_complex", ";".join(graph), "-map", "[vout]", "-an"]
        args += ["-r", str(opts.fps), *ENCODE, "-threads", str(threads)]
        args += ["-frames:v", str(segment.frames), "-y", str(made)]
        if segment.thumb_at is not None:
            args += ["-map", "[thumb]", "-frames:v", "1", "-update", "1", "-q:v", "3", str(thumb)]
        try:
            run_ffmpeg(
                args, segment.frames / opts.fps, progress, should_cancel,
                f"Encoding scene {segment.scenes[-1] + 1}", folder, stall_seconds=stall_seconds,
            )  # fmt: skip
        except BaseException:
            made.unlink(missing_ok=True)
            raise
        if segment.thumb_at is not None and thumb.is_file():
            store.put(KIND, segment.key, _thumb_suffix(segment), thumb)
    return store.put(KIND, segment.key, ".mp4", made)


def _thumb_suffix(segment: Segment) -> str:
    return f".poster{segment.thumb_at}.jpg"


class _Share:
    """Adds up the progress of segments encoded at once; the caller's thread reports it
    (the job's progress writes need its app context, which pool threads do not have)."""

    def __init__(self, weights: dict[int, float]) -> None:
        self._weights = weights
        self._done: dict[int, float] = dict.fromkeys(weights, 0.0)
        self._lock = threading.Lock()

    def part(self, index: int) -> ProgressFn:
        def report(fraction: float, _status: str) -> None:
            with self._lock:
                self._done[index] = max(self._done[index], min(1.0, fraction))

        return report

    def total(self) -> float:
        with self._lock:
            return sum(self._weights[k] * v for k, v in self._done.items())


def compile_segments(
    images: Sequence[Path],
    narration: Narration,
    out_path: Path,
    options: CompileOptions,
    progress: ProgressFn,
    store: ArtefactStore,
    should_cancel: CancelCheck = lambda: False,
    stall_seconds: float = STALL_SECONDS,
    parallel: int = PARALLEL,
) -> SegmentReport:
    """Render the final video from segments, encoding only those the store does not hold."""
    _validate(images, narration, options)
    out_path = Path(out_path)
    started = time.monotonic()
    segments, total = plan_segments(images, narration, options)
    digests: dict[Path, str] = {}
    for segment in segments:
        segment.key = _key(segment, options, digests)
        segment.path = store.get(KIND, segment.key, ".mp4")
        segment.reused = segment.path is not None
    poster = _mark_poster(segments, total, narration.duration, options.fps)
    todo = sorted((s for s in segments if not s.reused), key=lambda s: -s.frames)  # longest first
    encoded = sum(s.frames for s in todo)
    weights = {k: s.frames / max(1, encoded) for k, s in enumerate(todo)}
    share = _Share(weights)
    status = f"Encoding {len(todo)} of {len(segments)} segments"
    progress(0.0, status)
    failed = threading.Event()
    threads = 1 if len(todo) >= 2 * parallel else 0

    def cancel() -> bool:
        return failed.is_set() or should_cancel()

    def run(k: int) -> None:
        try:
            todo[k].path = _render(
                todo[k], store, options, share.part(k), cancel, stall_seconds, threads
            )
        except BaseException:
            failed.set()  # the others stop at their next check
            raise

    with (
        tempfile.TemporaryDirectory(prefix=f"{out_path.name}.join-", dir=out_path.parent) as w,
        ThreadPoolExecutor(max(1, parallel), thread_name_prefix="segment") as pool,
    ):
        sound = Path(w) / "sound.m4a"
        futures = [pool.submit(_sound, narration, options, sound, cancel, stall_seconds)]
        futures += [pool.submit(run, k) for k in range(len(todo))]
        pending = set(futures)
        while pending and not failed.is_set():
            _done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            progress((1 - JOIN_SHARE) * share.total(), status)
        errors = [error for future in futures if (error := future.exception()) is not None]
        if errors:  # the real failure, not the cancels it caused in the other segments
            raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
        _join(segments, sound, out_path, options, total, should_cancel, stall_seconds)
    progress(1.0, "Video ready")
    thumb = _poster(store, poster, out_path)
    if thumb is None:  # the poster piece was pruned while its segment stayed: take it anew
        thumb = _thumbnail(out_path, min(1.0, narration.duration / 2), stall_seconds)
    info = video_info(out_path, probe(out_path), thumb)
    log.info(
        "event=compile_done mode=segments path=%s segments=%d reused=%d encoded_frames=%d "
        "total_frames=%d elapsed_s=%.2f",
        out_path.name, len(segments), len(segments) - len(todo), encoded, total,
        time.monotonic() - started,
    )  # fmt: skip
    return SegmentReport(segments, encoded, info)


def _mark_poster(
    segments: Sequence[Segment], total: int, duration: float, fps: int
) -> Segment | None:
    """The segment holding the poster frame (at 1 s, or mid-video for shorter ones)."""
    frame = min(total - 1, round(min(1.0, duration / 2) * fps))
    for segment in segments:
        if segment.start <= frame < segment.start + segment.frames:
            segment.thumb_at = frame - segment.start
            return segment
    return None


def _poster(store: ArtefactStore, segment: Segment | None, out_path: Path) -> Path | None:
    """Copy the poster frame kept with its segment next to the video (same name, .jpg)."""
    if segment is None:
        return None
    kept = store.get(KIND, segment.key, _thumb_suffix(segment))
    if kept is None:
        return None
    thumb = out_path.with_suffix(".jpg")
    shutil.copyfile(kept, thumb)
    return thumb


def _sound(
    narration: Narration,
    opts: CompileOptions,
    out: Path,
    should_cancel: CancelCheck,
    stall_seconds: float,
) -> None:
    """The narration and music bed mixed and encoded, while the segments encode."""
    args = ["-i", str(Path(narration.audio_path).resolve())]
    graph = audio_graph(0, narration.duration, opts.music, opts.seed)
    args += ["-filter_complex", ";".join(graph), "-map", "[aout]"]
    args += ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-aac_coder", "fast"]
    args += ["-t", f"{narration.duration:.6f}", "-y", str(out)]
    run_ffmpeg(args, narration.duration, _quiet, should_cancel, "Mixing sound", out.parent,
               stall_seconds=stall_seconds)  # fmt: skip


def _join(
    segments: Sequence[Segment],
    sound: Path,
    out_path: Path,
    opts: CompileOptions,
    total: int,
    should_cancel: CancelCheck,
    stall_seconds: float,
) -> None:
    """Concatenate the segments and the sound by stream copy: nothing is encoded again."""
    listing = sound.with_name("segments.txt")
    listing.write_text("".join(f"file '{s.path}'\n" for s in segments), encoding="utf-8")
    args = ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(sound)]
    args += ["-map", "0:v", "-map", "1:a", "-c", "copy", "-t", f"{total / opts.fps:.6f}"]
    args += ["-movflags", "+faststart", "-y", str(out_path.resolve())]
    try:
        run_ffmpeg(
            args, total / opts.fps, _quiet, should_cancel, "Joining segments", sound.parent,
            stall_seconds=stall_seconds,
        )  # fmt: skip
    except BaseException:
        with contextlib.suppress(OSError):
            out_path.unlink()
        raise


def _quiet(_fraction: float, _status: str) -> None:
    """The join takes about a second: not worth reporting."""
