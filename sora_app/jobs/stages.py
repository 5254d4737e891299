"""The four stages as the runner sees them: load or produce each stage's files in the work dir."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..observe.meters import meters
from ..pipeline.artefacts import ArtefactStore
from ..pipeline.images import make_images, scene_image_path
from ..pipeline.narration import narrate
from ..pipeline.script import write_script
from ..pipeline.segments import compile_segments, plural
from ..pipeline.types import CancelCheck, Narration, ProgressFn, Script, StageError
from ..pipeline.voice_rate import speaking_rate
from ..storage import voices_dir
from . import eta, remote, scenes
from .spec import AUDIO_SUFFIXES, JobSpec, resolve_upload

log = logging.getLogger(__name__)

SCRIPT_FILE = "script.json"
NARRATION_FILE = "narration.json"
TIMINGS_FILE = "timings.json"


@dataclass
class StageContext:
    """What every stage needs: the request, the job's folders and the reporting hooks."""

    job_id: str
    attempt: int
    spec: JobSpec
    work_dir: Path
    videos_dir: Path
    uploads_dir: Path
    created_at: datetime
    log: Callable[[str], None]
    should_cancel: CancelCheck
    client_for: remote.ClientFor
    """The configured upstream client by name ("llm", "images", ...), or None."""
    config: Mapping[str, Any]
    external_video_id: str | None = None
    on_external_id: Callable[[str], None] = lambda _id: None
    on_delete_failed: Callable[[str, str, str], None] | None = None
    """(video_id, reason, error): an upstream DELETE to retry later (jobs.upstream_deletes)."""
    duration: float | None = None
    """Seconds of the finished video, set by the last stage."""
    artefacts: ArtefactStore | None = None
    """Pieces kept across jobs (painted scenes, spoken sentences, video segments), so a
    render reuses what an earlier one made from the same inputs; None: make everything."""

    @property
    def video_name(self) -> str:
        stamp = self.created_at.strftime("%Y%m%d_%H%M%S")
        return f"video_{stamp}_{self.job_id[:8]}.mp4"

    @property
    def partial_video(self) -> Path:
        """Temp name inside videos/ (same filesystem, so the final rename is atomic).

        The attempt is in the name: a worker that lost its lease never touches the file the
        job's new owner is writing.
        """
        return self.videos_dir / f".{self.job_id}.{self.attempt}.part.mp4"

    def script(self) -> Script:
        return Script.load(self.work_dir / SCRIPT_FILE)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Record each stage's wall time in timings.json, for operators and the benchmark,
        and teach the ETA this machine's speed (its clock shows the running stage's pace)."""
        path = self.work_dir / TIMINGS_FILE
        eta.start_stage(self.work_dir, stage, self.attempt)
        started = time.perf_counter()
        yield
        timings = json.loads(path.read_text()) if path.exists() else {}
        timings[stage] = round(time.perf_counter() - started, 3)
        path.write_text(json.dumps(timings))
        meters().stage_seconds.labels(stage).observe(timings[stage])
        eta.record_stage(self.config, self.spec, stage, timings[stage])

    def remove_partial_output(self) -> None:
        for path in (self.partial_video, self.partial_video.with_suffix(".jpg")):
            path.unlink(missing_ok=True)

    def publish_output(self) -> tuple[Path, Path | None, float]:
        final = self.videos_dir / self.video_name
        thumb_tmp = self.partial_video.with_suffix(".jpg")
        thumbnail: Path | None = None
        if thumb_tmp.exists():
            thumbnail = final.with_suffix(".jpg")
            os.replace(thumb_tmp, thumbnail)
        scenes.publish(self.work_dir, self.videos_dir, final.name)
        os.replace(self.partial_video, final)
        return final, thumbnail, self.duration or 0.0


def script_pin(script_id: str) -> str:
    """The pin of a script's latest render: kept until the script is deleted."""
    return f"script-{script_id}"


def target_seconds(spec: JobSpec) -> float:
    """The length asked for: exact `seconds` when given (tasks), else `duration` minutes."""
    return float(spec.seconds) if spec.seconds else spec.duration * 60


def voice_rate_cache(config: Mapping[str, Any]) -> Path:
    """Measured speaking rates live with the instance, so each voice is measured once."""
    return Path(config["INSTANCE_DIR"]) / "cache" / "voice_rates"


def run_script(ctx: StageContext, progress: ProgressFn) -> None:
    if ctx.spec.script is not None:  # a creator's script: rendered as written
        script = ctx.spec.script.to_pipeline()
        script.save(ctx.work_dir / SCRIPT_FILE)
        ref = ctx.spec.script_ref
        named = f"script {ref.id} version {ref.version}" if ref else "the script sent"
        ctx.log(f"Script: {plural(len(script.scenes), 'scene')} from {named}")
        progress(1.0, f"Script ready: {script.title}")
        return
    client = remote.script_client(ctx.spec, ctx.client_for)
    progress(0.05, "Preparing the voice")
    rate = speaking_rate(
        ctx.spec.voice_id, voice_rate_cache(ctx.config), voices_dir=voices_dir(ctx.config)
    )
    progress(0.1, "Asking the script model" if client else "Writing the script")
    target = target_seconds(ctx.spec)
    request = replace(
        ctx.spec.story_request(),
        duration_minutes=target / 60,
        words_per_minute=rate.words_per_minute,
    )
    script = (
        remote.write_remote(request, client, ctx.config, ctx.should_cancel)
        if client
        else write_script(request)
    )
    script.save(ctx.work_dir / SCRIPT_FILE)
    words = sum(len(scene.narration.split()) for scene in script.scenes)
    ctx.log(
        f"Script: {plural(len(script.scenes), 'scene')}, {words} words ({ctx.spec.story_type}), "
        f"sized for {target:g} s at {rate.words_per_minute:.0f} words/min"
    )
    progress(1.0, f"Script ready: {script.title}")


def _manual_images(ctx: StageContext, scenes: int) -> dict[int, Path]:
    """Scene index -> uploaded picture: a script scene's own `media` first, then
    manual_image_paths for manual_only (cycled over all scenes) or mixed (first scenes)."""
    spec = ctx.spec
    try:
        files = [resolve_upload(name, ctx.uploads_dir) for name in spec.manual_image_paths]
        chosen = {
            i: resolve_upload(scene.media, ctx.uploads_dir)
            for i, scene in enumerate(spec.script.scenes if spec.script else [])
            if scene.media and i < scenes
        }
    except ValueError as exc:
        raise StageError("BAD_IMAGE", f"An uploaded image is no longer usable: {exc}") from exc
    if spec.image_mode in ("manual_only", "mixed") and files:
        cycled = spec.image_mode == "manual_only"
        for i in range(scenes if cycled else min(scenes, len(files))):
            chosen.setdefault(i, files[i % len(files)])
    return chosen


def _library_file(ctx: StageContext, name: str) -> Path:
    try:
        return resolve_upload(name, ctx.uploads_dir, AUDIO_SUFFIXES)
    except ValueError as exc:
        raise StageError("BAD_MEDIA", f"The music track is no longer usable: {exc}") from exc


PRODUCED_BY = {"stock photos": "stock", "the image API": "ai"}
"""remote.image_producer's source, as a finished video's scene list names it."""


def run_images(ctx: StageContext, progress: ProgressFn) -> None:
    script = ctx.script()
    manual = _manual_images(ctx, len(script.scenes))
    produce, source = remote.image_producer(
        ctx.spec, script, ctx.client_for, ctx.config, ctx.should_cancel
    )
    if len(manual) < len(script.scenes):
        ctx.log(f"Images: {len(manual)} uploaded, the rest from {source}")
    make_images(
        script,
        ctx.spec.image_spec(),
        ctx.work_dir,
        progress,
        should_cancel=ctx.should_cancel,
        manual_images=manual,
        produce=produce,
        cache=ctx.artefacts,
        produced_by=PRODUCED_BY.get(source, "remote"),
    )


def run_narration(ctx: StageContext, progress: ProgressFn) -> None:
    speaker = remote.remote_speaker(ctx.client_for, ctx.config, ctx.should_cancel)
    # A creator's script lasts as long as its text takes to say: fitting it to a length would
    # retime every scene whenever one changed, and re-rendering after an edit reuses the rest.
    # Unless exact `seconds` were asked for (a /v1 remix keeps its source's length).
    natural = ctx.spec.script is not None and not ctx.spec.seconds
    target = None if natural else target_seconds(ctx.spec)
    narration = narrate(
        ctx.script(), ctx.spec.voice_id, ctx.work_dir, progress, ctx.should_cancel, speaker,
        target_seconds=target, frame_rate=ctx.spec.compile_options().fps,
        cache=ctx.artefacts, voices_dir=voices_dir(ctx.config),
    )  # fmt: skip
    narration.save(ctx.work_dir / NARRATION_FILE)
    asked = f" of {target:g} s" if target is not None else ""
    ctx.log(
        f"Narration: {narration.duration:.1f} s{asked}, voice {ctx.spec.voice_id}, "
        f"tempo {narration.tempo:.3g}"
    )
    if narration.note:
        ctx.log(narration.note)


def run_compile(ctx: StageContext, progress: ProgressFn) -> None:
    narration = Narration.load(ctx.work_dir / NARRATION_FILE)
    images = [scene_image_path(ctx.work_dir, i) for i in range(len(narration.scene_spans))]
    options = ctx.spec.compile_options()
    if ctx.spec.music_track and options.music:
        options = replace(options, music_path=str(_library_file(ctx, ctx.spec.music_track)))
    ctx.log(f"Compiling {options.width}x{options.height} at {options.fps} fps")
    ctx.videos_dir.mkdir(parents=True, exist_ok=True)
    report = compile_segments(
        images,
        narration,
        ctx.partial_video,
        options,
        progress,
        ctx.artefacts or ArtefactStore(ctx.work_dir / "segments"),
        should_cancel=ctx.should_cancel,
        stall_seconds=float(ctx.config["FFMPEG_STALL_SECONDS"]),
    )
    scenes.prepare(ctx.work_dir, ctx.script(), narration)
    if ctx.spec.script_ref is not None and ctx.artefacts is not None:
        ctx.artefacts.pin(script_pin(ctx.spec.script_ref.id), ctx.artefacts.used)
    info = report.info
    ctx.duration = info.duration
    made = plural(len(report.segments), "segment")
    reused = f", {report.reused} of {made} reused" if report.reused else ""
    ctx.log(f"Video: {info.duration:.1f} s, {info.size_bytes / 1e6:.1f} MB{reused}")


def run_external(ctx: StageContext, progress: ProgressFn) -> None:
    """The whole video from the external video API; the reference image is the first upload."""
    manual = _manual_images(ctx, 1)
    ctx.videos_dir.mkdir(parents=True, exist_ok=True)
    if ctx.external_video_id:
        ctx.log(f"Resuming external video {ctx.external_video_id}")
    info = remote.render_sora(
        ctx.spec, ctx.client_for, ctx.config, ctx.partial_video,
        manual.get(0), progress, ctx.should_cancel,
        resume_id=ctx.external_video_id, on_created=ctx.on_external_id,
        on_delete_failed=ctx.on_delete_failed,
    )  # fmt: skip
    ctx.duration = info.duration
    ctx.log(f"External video: {info.duration:.1f} s, {info.width}x{info.height}")


STAGE_FUNCTIONS: dict[str, Callable[[StageContext, ProgressFn], None]] = {
    "script": run_script,
    "images": run_images,
    "narration": run_narration,
    "compile": run_compile,
    "external": run_external,
}
