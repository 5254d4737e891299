"""eta_seconds: measured stage speeds times the job's size, refined by the running stage's pace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sora_app.jobs import eta, store
from sora_app.jobs.spec import JobSpec
from sora_app.models import STAGES
from tests.conftest import FAST_JOB, wait_for_job

OWNER = "eta-test"
NOW = 1_800_000_000.0
"""The injected clock: every estimate below is taken at this moment."""

LONG_JOB = {**FAST_JOB, "duration": 1, "num_scenes": 10}


def queued(app, request: dict) -> str:
    with app.app_context():
        return store.create_job(request).id


def running(app, request: dict, *, stage_done: str | None, progress: float) -> str:
    """A claimed job at `progress`, with `stage_done` recorded as the last finished stage."""
    with app.app_context():
        job_id = store.create_job(request).id
        assert store.claim_next(OWNER, 30) == job_id
        if stage_done:
            store.mark_stage_done(job_id, OWNER, stage_done)
        store.report_progress(job_id, OWNER, progress, "", "")
    return job_id


def estimate(app, job_id: str, config: dict | None = None) -> int | None:
    with app.app_context():
        return eta.estimate(store.get_job(job_id), config or app.config, now=NOW)


def clock(app, job_id: str, stage: str, elapsed: float, attempt: int = 1) -> None:
    work = Path(app.config["WORK_DIR"]) / job_id
    work.mkdir(parents=True, exist_ok=True)
    eta.start_stage(work, stage, attempt, now=NOW - elapsed)


def test_a_bigger_job_gets_a_bigger_estimate(app):
    small, big = queued(app, FAST_JOB), queued(app, LONG_JOB)
    wide = queued(app, {**LONG_JOB, "aspect_ratio": "1:1"})  # fewer pixels per frame
    assert 0 < estimate(app, small) < estimate(app, wide) < estimate(app, big)


def test_defaults_match_the_benchmark_job(app):
    """Before any measurement: bench/BENCHMARKS.md's 10-scene 60 s 1080x1920 job took ~19-20 s."""
    job_id = queued(app, {**LONG_JOB, "voice_id": "male_narrator_deep"})
    assert 19 <= estimate(app, job_id) <= 22


def test_measured_fast_speeds_shrink_the_estimate_and_survive_a_restart(app):
    job_id = queued(app, LONG_JOB)
    before = estimate(app, job_id)
    spec = JobSpec.model_validate(LONG_JOB)
    for stage in STAGES:  # this machine turns out to be ten times the benchmark's speed
        seconds = eta.DEFAULT_SPEEDS[f"{stage}:{eta.provider(stage, spec, {})}"] / 10
        eta.record_stage(app.config, spec, stage, seconds * eta.JobSize.of(spec).units(stage))
    after = estimate(app, job_id)
    assert after < before / 5
    path = Path(app.config["INSTANCE_DIR"]) / "cache" / eta.SPEEDS_FILE
    fresh = eta.SpeedBook(path)  # another worker process, or the server after a restart
    assert fresh.speed("compile:ffmpeg") == pytest.approx(eta.DEFAULT_SPEEDS["compile:ffmpeg"] / 10)


def test_the_median_of_recent_runs_ignores_one_slow_run(tmp_path):
    book = eta.SpeedBook(tmp_path / "speeds.json")
    for seconds in (1.0, 1.1, 30.0, 0.9):
        book.record("compile:ffmpeg", seconds, units=1.0)
    assert book.speed("compile:ffmpeg") == pytest.approx(1.05)
    for _ in range(eta.RECENT):
        book.record("compile:ffmpeg", 2.0, units=1.0)
    assert book.speed("compile:ffmpeg") == 2.0, "only the most recent runs count"


def test_an_unreadable_speeds_file_falls_back_to_the_defaults(tmp_path):
    path = tmp_path / "speeds.json"
    path.write_text("{not json")
    assert eta.SpeedBook(path).speed("compile:ffmpeg") == eta.DEFAULT_SPEEDS["compile:ffmpeg"]


def test_mid_stage_estimate_moves_toward_the_stages_own_pace(app):
    """Compile half done after 20 s: far slower than the prior's ~1 s left; the ETA follows."""
    prior_only = estimate(app, running(app, FAST_JOB, stage_done="narration", progress=87.5))
    half = running(app, FAST_JOB, stage_done="narration", progress=87.5)
    clock(app, half, "compile", elapsed=20)
    mostly = running(app, FAST_JOB, stage_done="narration", progress=97.5)
    clock(app, mostly, "compile", elapsed=180)
    # Both paces say 20 s left (20 s for 50 %, 180 s for 90 %); the more done, the more it counts.
    assert prior_only < 5
    assert 10 < estimate(app, half) < estimate(app, mostly) <= 20


def test_early_in_a_stage_or_with_a_stale_clock_the_prior_rules(app):
    prior = estimate(app, running(app, LONG_JOB, stage_done="images", progress=51))
    early = running(app, LONG_JOB, stage_done="images", progress=51)
    clock(app, early, "narration", elapsed=500)  # 4 % done: too little to judge the pace by
    stale = running(app, LONG_JOB, stage_done="images", progress=70)
    clock(app, stale, "narration", elapsed=500, attempt=0)  # a previous attempt's clock
    fresh = running(app, LONG_JOB, stage_done="images", progress=70)
    assert estimate(app, early) == prior
    assert estimate(app, stale) == estimate(app, fresh) < prior


def test_later_stages_add_their_prior(app):
    in_script = estimate(app, running(app, LONG_JOB, stage_done=None, progress=10))
    in_images = estimate(app, running(app, LONG_JOB, stage_done="script", progress=45))
    in_compile = estimate(app, running(app, LONG_JOB, stage_done="narration", progress=80))
    assert in_script > in_images > in_compile > 0


def test_finished_jobs_and_external_renders(app):
    with app.app_context():
        done, failed = store.create_job(FAST_JOB).id, store.create_job(FAST_JOB).id
        for job_id in (done, failed):
            assert store.claim_next(OWNER, 30) == job_id
        store.complete(done, OWNER, "video_x.mp4", None, 9.0)
        store.fail(failed, OWNER, "BAD_IMAGE", "no")
    external = queued(app, {**FAST_JOB, "engine": "sora", "seconds": 8})
    assert estimate(app, done) == 0
    assert estimate(app, failed) is None, "a failed job never finishes"
    assert estimate(app, external) is None, "the upstream sets an external render's pace"


def test_an_unmeasured_hosted_provider_has_no_estimate_until_measured(app):
    config = {**app.config, "UPSTREAMS": {"llm": object()}}  # a script model is configured
    job_id = queued(app, FAST_JOB)
    assert estimate(app, job_id, config) is None
    spec = JobSpec.model_validate(FAST_JOB)
    eta.record_stage(config, spec, "script", 12.0)
    assert estimate(app, job_id, config) >= 12
    assert estimate(app, job_id) < 12, "the offline script writer keeps its own speed"


def test_a_real_job_records_this_machines_speeds(running_app):
    client = running_app.test_client()
    job_id = client.post("/api/generate-video", json=FAST_JOB).get_json()["job_id"]
    body = wait_for_job(lambda url: client.get(url).get_json(), job_id)
    assert body["status"] == "complete" and body["eta_seconds"] == 0
    path = Path(running_app.config["INSTANCE_DIR"]) / "cache" / eta.SPEEDS_FILE
    recorded = json.loads(path.read_text())
    keys = {"script:offline", "images:offline", "narration:espeak", "compile:ffmpeg"}
    assert set(recorded) == keys and all(len(v) == 1 for v in recorded.values())
