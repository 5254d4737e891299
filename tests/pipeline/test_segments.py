"""Segmented compile: real narration, real stills, real ffmpeg; re-rendering after an edit."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from sora_app.pipeline.artefacts import ArtefactStore
from sora_app.pipeline.compile import compile_video
from sora_app.pipeline.images import make_images
from sora_app.pipeline.narration import narrate
from sora_app.pipeline.script import write_script
from sora_app.pipeline.segments import JOIN_SHARE, KIND, SegmentReport, compile_segments
from sora_app.pipeline.types import CompileOptions, ImageSpec, Narration, Script, StoryRequest

W, H, FPS = 360, 640, 30
OPTIONS = CompileOptions(width=W, height=H, fps=FPS, music=True, seed=7)
EDITED = "A cold wind slammed the shutters, and every candle in the hall went out at once."


def _quiet(_fraction: float, _status: str) -> None:
    """Progress is not what these tests look at."""


def _narrate(script: Script, folder: Path, cache: ArtefactStore | None = None) -> Narration:
    return narrate(script, "espeak_male", folder, _quiet, frame_rate=FPS, cache=cache)


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> tuple[Script, list[Path], Path]:
    root = tmp_path_factory.mktemp("segments")
    request = StoryRequest(topic="The Vanishing Lighthouse", story_type="scary_horror",
                           duration_minutes=0.3, num_scenes=4, seed=3)  # fmt: skip
    script = write_script(request)
    images = make_images(script, ImageSpec(width=W, height=H, seed=3), root, _quiet)
    return script, images, root


def _edit(script: Script, scene: int, text: str) -> Script:
    scenes = [replace(s, narration=text) if s.index == scene else s for s in script.scenes]
    return replace(script, scenes=scenes)


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]


def _identity(path: Path) -> tuple[int, int, str]:
    """The file's inode, modification time and content hash: a use refreshes only its
    access time, never these."""
    info = path.stat()
    return info.st_ino, info.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def test_scenes_start_on_frames_and_an_edit_moves_later_scenes_by_whole_frames(story, tmp_path):
    script, _images, _root = story
    before = _narrate(script, tmp_path / "a")
    after = _narrate(_edit(script, 1, EDITED), tmp_path / "b")
    for narration in (before, after):
        for start, _end in narration.scene_spans:
            assert abs(start * FPS - round(start * FPS)) < 0.04, narration.scene_spans
    moved = [
        round((b[0] - a[0]) * FPS)
        for a, b in zip(before.scene_spans, after.scene_spans, strict=True)
    ]
    assert moved[:2] == [0, 0] and moved[2] != 0 and moved[2] == moved[3], moved
    lengths = [
        [round((end - start) * FPS) for start, end in n.scene_spans[:-1]] for n in (before, after)
    ]
    assert lengths[0][0] == lengths[1][0] and lengths[0][2] == lengths[1][2], lengths


def test_segments_render_what_the_single_pass_renders(story, tmp_path):
    script, images, _root = story
    narration = _narrate(script, tmp_path)
    single = compile_video(images, narration, tmp_path / "single.mp4", OPTIONS, _quiet)
    store = ArtefactStore(tmp_path / "artefacts")
    report = compile_segments(images, narration, tmp_path / "seg.mp4", OPTIONS, _quiet, store)
    assert len(report.segments) == 2 * len(script.scenes) - 1
    assert report.reused == 0 and report.encoded_frames == round(narration.duration * FPS)
    assert abs(report.info.duration - single.duration) < 1.5 / FPS
    a, b = _frames(single.path), _frames(report.info.path)
    assert abs(len(a) - len(b)) <= 1
    n = min(len(a), len(b)) - 1
    same = [np.abs(x - y).mean() for x, y in zip(a[:n], b[:n], strict=True)]
    shifted = [np.abs(x - y).mean() for x, y in zip(a[1 : n + 1], b[:n], strict=True)]
    assert max(same) < 6, "a segment shows other pixels than the single pass"
    assert np.mean(same) < 0.6 * np.mean(shifted), "the segments are out of step"
    assert report.info.thumbnail and report.info.thumbnail.stat().st_size > 1000


def test_rerender_after_an_edit_encodes_only_that_scene_and_its_dissolves(story, tmp_path):
    script, images, _root = story
    store = ArtefactStore(tmp_path / "artefacts")
    narration = _narrate(script, tmp_path / "a", store)
    first = compile_segments(images, narration, tmp_path / "first.mp4", OPTIONS, _quiet, store)
    files = {s.key: s.path for s in first.segments}
    stamps = {key: _identity(path) for key, path in files.items()}
    edited = _narrate(_edit(script, 1, EDITED), tmp_path / "b", store)
    again = compile_segments(images, edited, tmp_path / "again.mp4", OPTIONS, _quiet, store)

    made = [s.scenes for s in again.segments if not s.reused]
    assert made == [(0, 1), (1,), (1, 2)], made
    assert [s.scenes for s in again.segments if s.reused] == [(0,), (2,), (2, 3), (3,)]
    for segment in again.segments:
        if segment.reused:
            assert segment.key in files and segment.path == files[segment.key]
            assert segment.path.stat().st_size > 0
    assert any(EDITED.split()[2] in s.captions for s in again.segments if 1 in s.scenes)
    assert again.encoded_frames < 0.6 * round(edited.duration * FPS)

    # The re-render shows what a fresh render of the edited script shows (encoder threads
    # may differ between the two, so the bits of the re-made segments may too).
    fresh = compile_segments(
        images, edited, tmp_path / "fresh.mp4", OPTIONS, _quiet, ArtefactStore(tmp_path / "new")
    )
    frames = _frames(again.info.path)
    anew = _frames(fresh.info.path)
    assert len(frames) == len(anew)
    assert max(np.abs(a - b).mean() for a, b in zip(frames, anew, strict=True)) < 1.5
    assert abs(again.info.duration - edited.duration) < 1.5 / FPS
    assert len(frames) == round(edited.duration * FPS)
    steps = [np.abs(a - b).mean() for a, b in itertools.pairwise(frames)]
    assert max(steps) < 12, "a join shows a jump (black frame, wrong picture)"
    assert min(f.mean() for f in frames) > 8, "a black frame"
    assert all(_identity(path) == stamps[key] for key, path in files.items()), (
        "a reused segment was rewritten"
    )


class Steps:
    """Every (fraction, substatus) a compile reports, as a job's progress sees them."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str]] = []

    def __call__(self, fraction: float, status: str) -> None:
        self.seen.append((fraction, status))

    def phases(self) -> list[str]:
        """Each status's step, in order, repeats collapsed: encode, sound, join, ready."""
        kinds = [_phase(status) for _, status in self.seen]
        return [kind for kind, _ in itertools.groupby(kinds)]


def _phase(status: str) -> str:
    if status == "Video ready":
        return "ready"
    if status.startswith("Joining"):
        return "join"
    if status.startswith("Encoding") and "segment" in status:
        return "encode"
    assert "narration" in status, f"a status of no known step: {status!r}"
    return "sound"


def _check_steps(steps: Steps, report: SegmentReport) -> None:
    """What the statuses of a real compile must say, whatever the machine's speed."""
    made, total = len(report.segments) - report.reused, len(report.segments)
    fractions = [fraction for fraction, _ in steps.seen]
    assert fractions == sorted(fractions) and steps.seen[-1] == (1.0, "Video ready"), steps.seen
    phases = steps.phases()
    assert phases[-2:] == ["join", "ready"], phases  # each step once, in the order it runs
    assert phases[:-2] in (["encode"], ["encode", "sound"], ["sound"]), phases
    assert (phases[0] == "encode") == (made > 0), phases
    for fraction, status in steps.seen:
        assert not re.search(r"\b1 (of 1 )?segments\b", status), status  # "1 segment"
        if _phase(status) == "join":
            assert fraction >= 1 - JOIN_SHARE and re.search(rf"\b{total} segments?\b", status)
        if _phase(status) == "encode":  # how many are made, and how many of those are done
            counts = [int(n) for n in re.findall(r"\d+", status)]
            assert counts[0] == made and (total in counts) and fraction < 1 - JOIN_SHARE, status
            assert ("reused" in status) == (made < total), status
    done = [int(m[1]) for _, s in steps.seen if (m := re.search(r"(\d+) done$", s))]
    assert done == sorted(done) and all(0 < n < made for n in done), done


def test_each_compile_step_says_what_it_is_doing(story, tmp_path):
    """A render, a re-render after an edit and one of nothing new: the substatus names each
    step as it runs (never "Encoding" once the segments are made)."""
    script, images, _root = story
    store = ArtefactStore(tmp_path / "artefacts")
    narration = _narrate(script, tmp_path / "a", store)
    first = Steps()
    report = compile_segments(images, narration, tmp_path / "first.mp4", OPTIONS, first, store)
    assert report.reused == 0
    _check_steps(first, report)

    edited = _narrate(_edit(script, 1, EDITED), tmp_path / "b", store)
    again = Steps()
    report = compile_segments(images, edited, tmp_path / "again.mp4", OPTIONS, again, store)
    assert 0 < report.reused < len(report.segments)
    _check_steps(again, report)

    same = Steps()
    report = compile_segments(images, edited, tmp_path / "same.mp4", OPTIONS, same, store)
    assert report.reused == len(report.segments)
    _check_steps(same, report)


def test_a_one_scene_compile_speaks_of_one_segment(tmp_path):
    request = StoryRequest(topic="A Kite", story_type="comedy", duration_minutes=0.1,
                           num_scenes=1, seed=5)  # fmt: skip
    script = write_script(request)
    images = make_images(script, ImageSpec(width=W, height=H, seed=5), tmp_path, _quiet)
    narration = _narrate(script, tmp_path)
    steps = Steps()
    options = replace(OPTIONS, music=False)
    report = compile_segments(
        images, narration, tmp_path / "one.mp4", options, steps, ArtefactStore(tmp_path / "a")
    )
    assert len(report.segments) == 1
    _check_steps(steps, report)
    assert all(re.search(r"\b1 segment\b", s) for _, s in steps.seen if "segment" in s)


def test_pruning_drops_old_then_least_recently_used_pieces(tmp_path):
    store = ArtefactStore(tmp_path)
    paths = []
    for n, age_days in enumerate((30, 3, 2, 1)):
        made = store.temp_path(KIND, ".mp4")
        made.write_bytes(b"x" * 1000)
        path = store.put(KIND, f"{n:02d}" + "a" * 62, ".mp4", made)
        os.utime(path, (1_000_000 - age_days * 86400,) * 2)
        paths.append(path)
    assert store.get(KIND, "02" + "a" * 62, ".mp4") == paths[2]  # a use refreshes its time
    assert store.prune(7 * 86400, max_bytes=1500, now=1_000_000) == 3
    assert [p.exists() for p in paths] == [False, False, True, False]


def test_pinned_pieces_outlive_age_and_size_until_unpinned(tmp_path):
    """A script's latest render stays reusable however old it is; deleting the script
    (unpin) hands its pieces back to pruning."""
    render, other = ArtefactStore(tmp_path), ArtefactStore(tmp_path)
    mine, theirs = [], []
    for n in range(3):
        for store, made_by, letter in ((render, mine, "a"), (other, theirs, "b")):
            made = store.temp_path(KIND, ".mp4")
            made.write_bytes(b"x" * 1000)
            made_by.append(store.put(KIND, f"{n:02d}" + letter * 62, ".mp4", made))
    for path in mine + theirs:
        os.utime(path, (1_000_000 - 30 * 86400,) * 2)
    assert render.used == set(mine)
    render.pin("script-s1", render.used)
    assert render.prune(7 * 86400, max_bytes=0, now=1_000_000) == 3
    assert all(p.exists() for p in mine) and not any(p.exists() for p in theirs)
    render.unpin("script-s1")
    assert render.prune(7 * 86400, now=1_000_000) == 3
    assert not any(p.exists() for p in mine)


def test_pins_over_the_size_limit_do_not_push_the_rest_out(tmp_path):
    """Only unpinned pieces count toward SORA_ARTEFACT_MAX_MB."""
    store = ArtefactStore(tmp_path)
    pieces = []
    for n, size in enumerate((5000, 400, 400)):
        made = store.temp_path(KIND, ".mp4")
        made.write_bytes(b"x" * size)
        pieces.append(store.put(KIND, f"{n:02d}" + "c" * 62, ".mp4", made))
    store.pin("script-big", pieces[:1])
    assert store.prune(0, max_bytes=1000, now=1_000_000) == 0
    assert all(p.exists() for p in pieces)
