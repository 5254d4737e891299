"""The requested length is honoured: script + narration stages, real engines, real files.

Compile adds nothing to the length (no intro or outro: the video is the narration laid on
a frame grid, see compile.plan_clips), so a video's length is the narration's rounded to
the frame rate; these tests check the narration WAV and that frame rounding.
"""

from __future__ import annotations

import math
import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sora_app.jobs.spec import JobSpec
from sora_app.jobs.stages import NARRATION_FILE, StageContext, run_narration, run_script
from sora_app.pipeline.compile import PACINGS, plan_clips
from sora_app.pipeline.narration import narrate
from sora_app.pipeline.types import Narration, Scene, Script
from sora_app.pipeline.voices import DEFAULT_VOICE_ID
from tests.conftest import FAST_JOB, wait_for_job

TOPIC = "The lighthouse keeper who vanished"
FPS = 30


def allowed(target: float) -> float:
    """The product rule: within 5 %, and never more than 1.5 s off."""
    return min(0.05 * target, 1.5)


def minutes(value: float, voice: str, seed: int, **extra) -> JobSpec:
    """A contract-1 request as the API validates it (num_scenes left to its default)."""
    body = {"topic": TOPIC, "duration": value, "voice_id": voice, "seed": seed, **extra}
    return JobSpec.model_validate(body)


def task(seconds: int, voice: str, seed: int) -> JobSpec:
    """A task as api/tasks.py maps it for the local pipeline, carrying exact seconds."""
    body = {"topic": TOPIC, "duration": max(seconds, 6) / 60, "num_scenes": 1}
    return JobSpec.model_validate({**body, "voice_id": voice, "seed": seed, "seconds": seconds})


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One instance folder for the module, so each voice is calibrated once (as in a server)."""
    return tmp_path_factory.mktemp("instance")


def run_stages(spec: JobSpec, tmp: Path, instance: Path) -> tuple[Narration, list]:
    """The script and narration stages as the runner calls them; returns the details lines."""
    work = tmp / "work"
    work.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    ctx = StageContext(
        job_id="length", attempt=1, spec=spec, work_dir=work, videos_dir=tmp / "videos",
        uploads_dir=tmp / "uploads", created_at=datetime.now(UTC), log=lines.append,
        should_cancel=lambda: False, client_for=lambda name: None,
        config={"INSTANCE_DIR": instance},
    )  # fmt: skip
    run_script(ctx, lambda f, m: None)
    run_narration(ctx, lambda f, m: None)
    return Narration.load(work / NARRATION_FILE), lines


def video_seconds(narration: Narration, pacing: str = "moderate") -> float:
    """What compile makes of this narration: its frames over the frame rate."""
    fade = PACINGS[pacing].crossfade
    _, _, frames = plan_clips(narration.scene_spans, narration.duration, FPS, fade)
    return frames / FPS


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def target_of(spec: JobSpec) -> float:
    """Seconds asked for: a task's exact seconds, else contract 1's minutes."""
    return float(spec.seconds) if spec.seconds else spec.duration * 60


def assert_on_length(narration: Narration, target: float, lines: list[str]) -> None:
    assert abs(narration.duration - target) <= allowed(target), lines
    assert wav_seconds(narration.audio_path) == pytest.approx(narration.duration, abs=1e-6)
    assert abs(video_seconds(narration) - target) <= allowed(target)
    assert narration.requested == target
    assert not [line for line in lines if "not the requested" in line], lines
    assert 0.9 <= narration.tempo <= 1.1
    assert narration.cues[-1].end <= narration.duration
    assert narration.scene_spans[-1][1] == narration.duration


CASES = [
    pytest.param(minutes(0.2, "espeak_male", 1), id="espeak-0.2min"),
    pytest.param(minutes(1, "espeak_male", 2), id="espeak-1min"),
    pytest.param(minutes(3, "espeak_male", 3), id="espeak-3min"),
    pytest.param(task(5, "espeak_male", 4), id="espeak-task5s"),
    pytest.param(minutes(0.2, DEFAULT_VOICE_ID, 1), id="piper-0.2min"),
    pytest.param(minutes(1, DEFAULT_VOICE_ID, 2), id="piper-1min", marks=pytest.mark.slow),
    pytest.param(minutes(3, DEFAULT_VOICE_ID, 3), id="piper-3min", marks=pytest.mark.slow),
    pytest.param(task(5, DEFAULT_VOICE_ID, 4), id="piper-task5s"),
]


@pytest.mark.parametrize("spec", CASES)
def test_requested_length_is_met(spec: JobSpec, tmp_path: Path, instance: Path) -> None:
    narration, lines = run_stages(spec, tmp_path, instance)
    assert_on_length(narration, target_of(spec), lines)


def test_same_request_and_seed_give_the_same_length(tmp_path: Path, instance: Path) -> None:
    """Piper's timing differs from run to run; the fitted length must not."""
    spec = minutes(0.25, DEFAULT_VOICE_ID, 11)
    first, _ = run_stages(spec, tmp_path / "a", instance)
    second, _ = run_stages(spec, tmp_path / "b", instance)
    assert abs(first.duration - second.duration) <= 0.1
    assert abs(first.duration - 15) <= allowed(15)


def test_other_voices_and_pacings_also_fit(tmp_path: Path, instance: Path) -> None:
    """A slow female espeak voice and a fast Piper one, with pacings that shape sentences."""
    for n, (voice, pacing) in enumerate(
        [("female_narrator_warm", "slow"), ("male_narrator_energetic", "fast")]
    ):
        spec = minutes(0.75, voice, 5, pacing=pacing, num_scenes=3)
        narration, lines = run_stages(spec, tmp_path / str(n), instance)
        assert_on_length(narration, 45, lines)
        assert abs(video_seconds(narration, pacing) - 45) <= allowed(45)


CAPTAIN = (
    "a retired sea captain with a grey beard, a limp, a long memory and a quiet voice that "
    "carries over the harbour"
)
CAST = [{"name": name, "description": CAPTAIN} for name in ("Sarah", "Tomas", "Ines")]
"""Characters the narration must introduce: far more than 6 s of speech for one scene."""


def test_a_request_that_cannot_be_met_says_so_in_details(tmp_path: Path, instance: Path) -> None:
    """One 6 s scene must still open with its hook and introduce three described characters."""
    spec = minutes(0.1, "espeak_male", 1, num_scenes=1, characters=CAST)
    narration, lines = run_stages(spec, tmp_path, instance)
    notes = [line for line in lines if line.startswith("Length:")]
    assert len(notes) == 1, lines
    assert "not the requested 6 s" in notes[0]
    assert f"at least {math.ceil(narration.duration)} s" in notes[0]
    assert narration.note == notes[0]
    assert narration.duration > 6 + allowed(6)
    assert narration.tempo == pytest.approx(1.1)


def test_a_job_that_cannot_meet_its_length_says_why_in_its_details(running_app) -> None:
    """The whole job through the runner: the note reaches /api/progress `details`."""
    job = {**FAST_JOB, "duration": 0.1, "num_scenes": 1, "characters": CAST}
    client = running_app.test_client()
    job_id = client.post("/api/generate-video", json=job).get_json()["job_id"]
    body = wait_for_job(lambda url: client.get(url).get_json(), job_id)
    assert body["status"] == "complete", body
    note = next(line for line in body["details"].splitlines() if line.startswith("Length:"))
    assert "not the requested 6 s" in note and "Ask for at least" in note
    assert body["duration"] > 6 + allowed(6)


def test_too_little_text_for_the_length_is_reported(tmp_path: Path) -> None:
    """A (hosted model's) script far too short: stretched only within natural limits."""
    script = Script("t", "mystery", [Scene(0, "The door opened. Nobody came in.", "Door")])
    narration = narrate(script, "espeak_male", tmp_path, lambda f, m: None, target_seconds=60)
    assert "not the requested 60 s" in narration.note and "too little text" in narration.note
    assert narration.tempo == pytest.approx(0.9) and narration.duration < 10
