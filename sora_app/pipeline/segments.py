"""Compile a video from segments: each encoded once, kept by content hash, joined by copy.

pipeline.segment_plan cuts the timeline and keys every segment. Here the segments the
artefact store lacks are encoded, two at a time, while the narration and music bed are mixed
and encoded beside them; the join then copies both streams into the final file. After an edit
only the changed scenes' bodies and the dissolves that touch them are encoded again.
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
from dataclasses import dataclass
from pathlib import Path

from sora_app.pipeline import subtitles
from sora_app.pipeline.artefacts import ArtefactStore
from sora_app.pipeline.compile import grab_thumbnail, validate_inputs
from sora_app.pipeline.compile_audio import audio_graph, bed_inputs, choose_bed
from sora_app.pipeline.ffmpeg import STALL_SECONDS, run_ffmpeg
from sora_app.pipeline.probe import probe, video_info
from sora_app.pipeline.segment_plan import ENCODE, Segment, plan_segments, segment_key
from sora_app.pipeline.types import (
    CancelCheck,
    Cancelled,
    CompileOptions,
    Narration,
    ProgressFn,
    VideoInfo,
)

log = logging.getLogger(__name__)

KIND = "segments"
"""The artefact store's folder for encoded segments."""
PARALLEL = 2
"""Segments encoded at once. With many to do, each gets one encoder thread and the two runs
fill both cores without the start-up and flush gaps of x264's frame threads (measured, 60 s
1080x1920: 15.3 s vs 17.5 s with default threads); with few (a re-render), x264 threads them.
The thread count is not part of a segment's key: it changes bits, not the picture."""
JOIN_SHARE = 0.06
"""Share of the progress bar for the join (stream copy + audio) after the last segment."""


@dataclass
class SegmentReport:
    """What a segmented compile did, for the job's details, tests and the benchmark."""

    segments: list[Segment]
    encoded_frames: int
    info: VideoInfo

    @property
    def reused(self) -> int:
        return sum(1 for s in self.segments if s.reused)


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


def plural(count: int, word: str) -> str:
    """`1 segment`, `7 segments`."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True)
class Steps:
    """What the compile says it is doing, step by step (the job's substatus).

    The bar moves through the segments' encoding; the sound is mixed beside them and may
    finish last; the join then writes the file. Each step names itself, so the text never
    speaks of encoding segments once they are all made.
    """

    todo: int
    """Segments to encode (the rest are reused from the store)."""
    total: int
    music: bool

    def encoding(self, done: int) -> str:
        if self.todo == self.total:
            what = f"Encoding {plural(self.todo, 'segment')}"
        else:
            what = f"Encoding {self.todo} of {plural(self.total, 'segment')} (the rest reused)"
        return f"{what}: {done} done" if done else what

    @property
    def sound(self) -> str:
        return "Mixing the narration and music" if self.music else "Encoding the narration"

    @property
    def joining(self) -> str:
        return f"Joining {plural(self.total, 'segment')} and the sound into the video file"


ALMOST = 0.999
"""Where a segment's share of the bar stops until the segment is stored."""


class _Share:
    """Adds up the progress of segments encoded at once; the caller's thread reports it
    (the job's progress writes need its app context, which pool threads do not have).

    A segment counts as whole only once it is in the store (`finish`), not when its
    encoder reports 100 %, so the bar and the count of segments done always agree.
    """

    def __init__(self, weights: dict[int, float]) -> None:
        self._weights = weights
        self._done: dict[int, float] = dict.fromkeys(weights, 0.0)
        self._finished: set[int] = set()
        self._lock = threading.Lock()

    def part(self, index: int) -> ProgressFn:
        def report(fraction: float, _status: str) -> None:
            with self._lock:
                if index not in self._finished:
                    self._done[index] = max(self._done[index], min(ALMOST, fraction))

        return report

    def finish(self, index: int) -> None:
        with self._lock:
            self._done[index] = 1.0
            self._finished.add(index)

    def state(self) -> tuple[float, int]:
        """(the weighted fraction encoded, how many segments are finished), read together."""
        with self._lock:
            total = sum(self._weights[k] * v for k, v in self._done.items())
            return total, len(self._finished)


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
    validate_inputs(images, narration, options)
    out_path = Path(out_path)
    started = time.monotonic()
    segments, total = plan_segments(images, narration, options)
    digests: dict[Path, str] = {}
    for segment in segments:
        segment.key = segment_key(segment, options, digests)
        segment.path = store.get(KIND, segment.key, ".mp4")
        segment.reused = segment.path is not None
    poster = _mark_poster(segments, total, narration.duration, options.fps)
    todo = sorted((s for s in segments if not s.reused), key=lambda s: -s.frames)  # longest first
    encoded = sum(s.frames for s in todo)
    weights = {k: s.frames / max(1, encoded) for k, s in enumerate(todo)}
    share = _Share(weights)
    steps = Steps(len(todo), len(segments), options.music)
    progress(0.0, steps.encoding(0) if todo else steps.sound)
    failed = threading.Event()
    threads = 1 if len(todo) >= 2 * parallel else 0

    def cancel() -> bool:
        return failed.is_set() or should_cancel()

    def run(k: int) -> None:
        try:
            todo[k].path = _render(
                todo[k], store, options, share.part(k), cancel, stall_seconds, threads
            )
            share.finish(k)
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
            fraction, finished = share.state()
            status = steps.encoding(finished) if finished < len(todo) else steps.sound
            progress((1 - JOIN_SHARE) * fraction, status)
        errors = [error for future in futures if (error := future.exception()) is not None]
        if errors:  # the real failure, not the cancels it caused in the other segments
            raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
        progress(1 - JOIN_SHARE, steps.joining)
        _join(segments, sound, out_path, options, total, should_cancel, stall_seconds)
    progress(1.0, "Video ready")
    thumb = _poster(store, poster, out_path)
    if thumb is None:  # the poster piece was pruned while its segment stayed: take it anew
        thumb = grab_thumbnail(out_path, min(1.0, narration.duration / 2), stall_seconds)
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
    bed = choose_bed(opts, narration.duration)
    args = ["-i", str(Path(narration.audio_path).resolve()), *bed_inputs(bed)]
    graph = audio_graph(0, narration.duration, bed, opts.seed, bed_input=1)
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
