"""Cut a video's timeline into segments and key each by everything that decides its pixels.

The timeline is a body segment per scene and a dissolve segment per scene boundary:
[body 0][dissolve 0→1][body 1] … Each runs the single-pass compile's own filters
(pipeline.compile) over its frames, with its captions cut to its window and timed from its
first frame. Its key hashes the filter graph, the bytes of its stills and title layers, its
caption events and the encoder settings; nothing absolute goes in, and narration starts every
scene on a frame, so an edit that moves later scenes in time leaves their keys alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sora_app.pipeline import subtitles
from sora_app.pipeline.artefacts import digest, file_digest
from sora_app.pipeline.compile import (
    PACINGS,
    X264_PARAMS,
    Clip,
    pan_directions,
    plan_clips,
    scene_pieces,
)
from sora_app.pipeline.images import title_layer_path
from sora_app.pipeline.types import CompileOptions, Cue, Narration, Word

FORMAT = 1
"""Part of every key: bump it when the way segments are made changes without their inputs."""
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-x264-params", X264_PARAMS]
ENCODE += ["-pix_fmt", "yuv420p"]


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
    thumb_at: int | None = None
    """The frame (counted from the segment's first) that is also the video's poster."""


def plan_segments(
    images: Sequence[Path], narration: Narration, opts: CompileOptions
) -> tuple[list[Segment], int]:
    """The segments of the timeline in order, and the video's total frames."""
    pacing = PACINGS.get(opts.pacing, PACINGS["moderate"])
    spans, fps = narration.scene_spans, opts.fps
    clips, fade, total = plan_clips(spans, narration.duration, fps, pacing.crossfade)
    directions = pan_directions(len(clips), opts.seed)
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
            graph = scene_pieces(
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
    graph = scene_pieces(
        before, n_clips, fade, opts, pacing, directions[before.index],
        title_input=title_inputs[0], image_input=0, kinds="t", label=0,
    )  # fmt: skip
    graph += scene_pieces(
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


def segment_key(segment: Segment, opts: CompileOptions, digests: dict[Path, str]) -> str:
    for path in segment.inputs:  # a still shared by a body and two dissolves is read once
        if path not in digests:
            digests[path] = file_digest(path)
    return digest(
        {
            "format": FORMAT,
            "graph": segment.graph,
            "inputs": [digests[path] for path in segment.inputs],
            "captions": segment.captions,
            "frames": segment.frames,
            "fps": opts.fps,
            "size": [opts.width, opts.height],
            "encode": ENCODE,
        }
    )
