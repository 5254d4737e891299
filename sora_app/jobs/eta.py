"""How long a job has left: this machine's measured stage speeds times the job's size,
refined by the running stage's own pace.

The progress bar is a poor clock (compilation, 75-100 %, is most of a long job's wall time),
so clients get `eta_seconds` from here instead of extrapolating the percentage.

Speeds are seconds per unit of work, one unit per stage that makes the estimate scale with
what the stage really does: script and narration per output second, images per
scene-megapixel, compile per output-second-megapixel (ffmpeg encodes every frame's pixels).
Each stage and provider (offline painter, image API, piper, ...) has its own speed, the
median of its recent measurements, kept in one small JSON file under the instance dir that is
replaced atomically: it survives restarts and every gunicorn worker reads the same numbers.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import statistics
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models import FINAL_STATUSES, STAGE_RANGES, STAGES, Job, JobStatus
from ..pipeline.voice_catalog import engine_of
from ..storage import Storage, storage_for
from .spec import JobSpec

log = logging.getLogger(__name__)

SPEEDS_FILE = "stage_speeds.json"
"""Under INSTANCE_DIR/cache: {"stage:provider": [recent seconds per unit, oldest first]}."""
STAGE_CLOCK_FILE = "stage_clock.json"
"""In the job's work dir: which stage runs since when (epoch seconds), for any process to read."""

RECENT = 7
"""Measurements kept per stage and provider; their median is the speed (one slow run, such as
a first run loading its voice model, does not swing it)."""

MIN_FRACTION = 0.1
"""Below this share of a stage done, its own pace says too little: the prior speed rules."""

DEFAULT_SPEEDS: dict[str, float] = {
    "script:offline": 0.001,
    "images:offline": 0.092,
    "images:uploads": 0.092,
    "narration:piper": 0.052,
    "narration:espeak": 0.052,
    "compile:ffmpeg": 0.12,
}
"""Before this machine has measured anything: bench/BENCHMARKS.md's slowest of three runs of a
10-scene, 60 s, 1080x1920 job on 2 cores (script 0.004 s, images 1.9 s, narration 3.1 s,
compile 14.9 s), per unit. Hosted providers (script model, image API, stock photos, speech
API) have no default: their speed is the upstream's, so until measured the estimate is None."""


@dataclass(frozen=True)
class JobSize:
    """What a job's stage times scale with."""

    seconds: float
    scenes: int
    megapixels: float

    @classmethod
    def of(cls, spec: JobSpec) -> JobSize:
        width, height = spec.dimensions()
        # The length asked for, as stages.target_seconds computes it (narration is fitted to it).
        seconds = float(spec.seconds) if spec.seconds else spec.duration * 60
        return cls(seconds, spec.num_scenes, width * height / 1e6)

    def units(self, stage: str) -> float:
        if stage == "images":
            return self.scenes * self.megapixels
        if stage == "compile":
            return self.seconds * self.megapixels
        return self.seconds  # script (words to write), narration (audio to speak)


def provider(stage: str, spec: JobSpec, upstreams: Mapping[str, Any]) -> str:
    """Which provider runs the stage for this job, as remote.py chooses it from the config."""
    if stage == "script":
        return "llm" if spec.script_source != "offline" and "llm" in upstreams else "offline"
    if stage == "images":
        if spec.image_mode in ("stock_only", "mixed") and "stock" in upstreams:
            return "stock"
        if spec.image_mode in ("ai_only", "mixed") and "images" in upstreams:
            return "api"
        return "uploads" if spec.image_mode == "manual_only" else "offline"
    if stage == "narration":
        return engine_of(spec.voice_id)
    return "ffmpeg"


class SpeedBook:
    """This machine's recent seconds per unit for each stage and provider, in one JSON file.

    Writers replace the file atomically, so readers never see half of it; two writers racing
    may lose one measurement, which only makes the median one sample older.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._samples: dict[str, list[float]] = {}

    def _load(self) -> dict[str, list[float]]:
        """The file's samples, re-read only when it changed (every progress answer asks)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            try:
                raw = json.loads(self.path.read_text())
                self._samples = {
                    str(key): [float(v) for v in values if float(v) >= 0][-RECENT:]
                    for key, values in raw.items()
                    if isinstance(values, list)
                }
            except (OSError, ValueError, TypeError, AttributeError):
                log.warning("event=eta_speeds_unreadable path=%s", self.path)
                self._samples = {}
            self._stamp = stamp
        return self._samples

    def speed(self, key: str) -> float | None:
        """Seconds per unit: the median of recent measurements, else the default, else None."""
        return self.speeds([key])[0]

    def speeds(self, keys: Iterable[str]) -> list[float | None]:
        """speed() of several keys off one look at the file (one stat per answer, not four)."""
        samples = self._load()
        return [
            statistics.median(found) if (found := samples.get(key)) else DEFAULT_SPEEDS.get(key)
            for key in keys
        ]

    def record(self, key: str, seconds: float, units: float) -> None:
        if units <= 0 or seconds < 0:
            return
        samples = {k: list(v) for k, v in self._load().items()}
        samples[key] = [*samples.get(key, []), seconds / units][-RECENT:]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".stage_speeds.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(samples, out)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


_books: dict[Any, SpeedBook] = {}


def speed_book(config: Mapping[str, Any]) -> SpeedBook:
    """One book per speeds file and process, so its parsed contents are reused between answers."""
    book = _books.get(config["INSTANCE_DIR"])  # by the setting: no Path built per answer
    if book is None:
        path = Path(config["INSTANCE_DIR"]) / "cache" / SPEEDS_FILE
        book = _books.setdefault(config["INSTANCE_DIR"], SpeedBook(path))
    return book


def record_stage(config: Mapping[str, Any], spec: JobSpec, stage: str, seconds: float) -> None:
    """Learn from a finished stage; a failure to write only costs the measurement, not the job."""
    if stage not in STAGES:
        return  # an external render's time is the upstream's, not this machine's
    key = f"{stage}:{provider(stage, spec, config['UPSTREAMS'])}"
    try:
        speed_book(config).record(key, seconds, JobSize.of(spec).units(stage))
    except OSError as exc:
        log.warning("event=eta_record_failed stage=%s error=%s", stage, exc)


def start_stage(work_dir: Path, stage: str, attempt: int, now: float | None = None) -> None:
    """Note when this attempt's stage began, so a reader in any process can see its pace."""
    clock = {"stage": stage, "attempt": attempt, "started": time.time() if now is None else now}
    try:
        (work_dir / STAGE_CLOCK_FILE).write_text(json.dumps(clock))
    except OSError as exc:
        log.warning("event=eta_clock_failed stage=%s error=%s", stage, exc)


SPEC_MEMO = 1024
"""Parsed requests kept per process: a polled job's request is parsed once, not per answer."""
_specs: dict[str, JobSpec | None] = {}


def _spec_of(request_json: str) -> JobSpec | None:
    """The job's request as a JobSpec (None if it no longer validates), memoised by its text.

    A stored request never changes, and parsing it was the largest part of a progress answer.
    """
    if request_json in _specs:
        return _specs[request_json]
    try:
        spec: JobSpec | None = JobSpec.model_validate(json.loads(request_json))
    except ValueError:  # pydantic's ValidationError too: a request that no longer validates
        spec = None
    if len(_specs) >= SPEC_MEMO:
        _specs.clear()
    _specs[request_json] = spec
    return spec


@functools.lru_cache(maxsize=8)
def _storage(videos: Path, work: Path, uploads: Path) -> Storage:
    """storage_for, built once per set of folders (not a Storage and three Paths per answer)."""
    return storage_for({"VIDEOS_DIR": videos, "WORK_DIR": work, "UPLOADS_DIR": uploads})


CLOCK_MEMO = 1024
"""Stage clocks kept per process, each for one state of its job's row."""
_clocks: dict[tuple[Any, ...], float | None] = {}


def _stage_elapsed(job: Job, stage: str, config: Mapping[str, Any], now: float) -> float | None:
    """Seconds the running stage has run in this attempt; None when no clock says so.

    The clock file is read once per state of the row (its version and updated_at), not on
    every poll: a file read is three more calls that give up the GIL, in every answer about
    a running job. A stage writes its clock as it starts, before its first progress write.
    """
    key = (job.id, job.attempts, stage, job.version, job.updated_at, config["WORK_DIR"])
    if key not in _clocks:
        if len(_clocks) >= CLOCK_MEMO:
            _clocks.clear()
        _clocks[key] = _read_clock(job, stage, config)
    started = _clocks[key]
    return None if started is None else max(0.0, now - started)


def _read_clock(job: Job, stage: str, config: Mapping[str, Any]) -> float | None:
    """When this attempt's `stage` started, from the job's clock file; None if it doesn't say."""
    try:
        storage = _storage(config["VIDEOS_DIR"], config["WORK_DIR"], config["UPLOADS_DIR"])
        clock = json.loads((storage.work_dir(job.id) / STAGE_CLOCK_FILE).read_text())
        if clock["stage"] != stage or clock["attempt"] != job.attempts:
            return None
        return float(clock["started"])
    except (OSError, ValueError, TypeError, KeyError):
        return None


def stage_remaining(prior: float | None, fraction: float, elapsed: float | None) -> float | None:
    """The running stage's seconds left: the prior's share of it, moved toward the stage's own
    pace (elapsed / fraction done) as more of the stage is done.

    The pace weighs sqrt(fraction) (a third at 10 %, 70 % at half way): a stage's own pace on
    a busy machine beats a prior measured when it was idle, so it should win early.
    """
    prior_left = None if prior is None else prior * (1 - fraction)
    if elapsed is None or fraction < MIN_FRACTION:
        return prior_left
    pace_left = elapsed * (1 - fraction) / fraction
    if prior_left is None:
        return pace_left
    weight = math.sqrt(fraction)
    return weight * pace_left + (1 - weight) * prior_left


def estimate(job: Job, config: Mapping[str, Any], now: float | None = None) -> int | None:
    """Seconds until the job finishes; 0 once complete, None when no honest estimate exists.

    None for failed or cancelled jobs (they never finish), for external renders (the upstream
    sets the pace) and while a stage still to run uses a provider not measured yet. A queued
    job's estimate is its own run; the wait for the jobs ahead of it is not included.
    """
    status = job.job_status
    if status is JobStatus.COMPLETED:
        return 0
    if status in FINAL_STATUSES:
        return None
    spec = _spec_of(job.request_json)
    if spec is None or spec.engine != "local":
        return None
    book, size = speed_book(config), JobSize.of(spec)
    keys = [f"{stage}:{provider(stage, spec, config['UPSTREAMS'])}" for stage in STAGES]
    priors: dict[str, float | None] = {
        stage: None if speed is None else speed * size.units(stage)
        for stage, speed in zip(STAGES, book.speeds(keys), strict=True)
    }
    done = STAGES.index(job.stage_done) + 1 if job.stage_done in STAGES else 0
    if status is JobStatus.QUEUED or done >= len(STAGES):
        left = [priors[stage] for stage in STAGES[done:]]
    else:
        current = STAGES[done]
        low, high = STAGE_RANGES[current]
        fraction = min(max((job.progress - low) / (high - low), 0.0), 1.0)
        elapsed = _stage_elapsed(job, current, config, time.time() if now is None else now)
        left = [stage_remaining(priors[current], fraction, elapsed)]
        left += [priors[stage] for stage in STAGES[done + 1 :]]
    if any(seconds is None for seconds in left):
        return None
    return math.ceil(sum(left))
