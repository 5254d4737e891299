"""Segmented compile: real narration, real stills, real ffmpeg; re-rendering after an edit."""

from __future__ import annotations

import hashlib
import itertools
import os
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
from sora_app.pipeline.segments import KIND, compile_segments
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
