"""Voice calibration: measured with the real engines once, then read from the cache file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sora_app.jobs.spec import JobSpec
from sora_app.jobs.stages import StageContext, run_script, voice_rate_cache
from sora_app.pipeline.voice_rate import (
    DEFAULT_WORDS_PER_SECOND,
    cache_key,
    cache_path,
    speaking_rate,
)
from sora_app.pipeline.voices import DEFAULT_VOICE_ID, get_voice


def plant(path: Path, words_per_second: float) -> int:
    """Overwrite the cached value (same key); returns the file's new mtime."""
    data = json.loads(path.read_text())
    data["words_per_second"] = words_per_second
    path.write_text(json.dumps(data))
    return path.stat().st_mtime_ns


@pytest.mark.parametrize("voice_id", ["espeak_male", DEFAULT_VOICE_ID])
def test_second_run_reads_the_cache_instead_of_synthesizing(voice_id: str, tmp_path: Path):
    first = speaking_rate(voice_id, tmp_path)
    path = cache_path(tmp_path, get_voice(voice_id))
    assert first.measured and path.is_file()
    assert 2.0 < first.words_per_second < 5.0, "a narrator speaks 120-300 words a minute"
    assert json.loads(path.read_text())["key"] == cache_key(get_voice(voice_id))
    # Measuring always rewrites the file, so an unchanged mtime means no synthesis; the
    # planted value coming back proves the rate was read from the file.
    stamp = plant(path, 1.234)
    again = speaking_rate(voice_id, tmp_path)
    assert again.words_per_second == 1.234
    assert path.stat().st_mtime_ns == stamp
    assert list(tmp_path.iterdir()) == [path]


def test_measured_rates_follow_the_voice_settings(tmp_path: Path) -> None:
    warm = speaking_rate("female_narrator_warm", tmp_path).words_per_second  # espeak rate 155
    plain = speaking_rate("espeak_female", tmp_path).words_per_second  # espeak rate 175
    bright = speaking_rate("female_narrator_bright", tmp_path).words_per_second  # rate 200
    assert warm < 0.95 * plain < 0.95 * bright
    assert len(list(tmp_path.glob("*.json"))) == 3


def test_a_stale_or_broken_cache_file_is_measured_again(tmp_path: Path) -> None:
    measured = speaking_rate("espeak_male", tmp_path).words_per_second
    path = cache_path(tmp_path, get_voice("espeak_male"))
    path.write_text(json.dumps({"key": "another engine build", "words_per_second": 9.0}))
    # espeak itself jitters by a fraction of a percent between runs
    assert speaking_rate("espeak_male", tmp_path).words_per_second == pytest.approx(measured, 0.02)
    path.write_text("{not json")
    assert speaking_rate("espeak_male", tmp_path).words_per_second == pytest.approx(measured, 0.02)
    assert json.loads(path.read_text())["key"] == cache_key(get_voice("espeak_male"))


def test_hosted_voices_use_a_default_and_write_nothing(tmp_path: Path) -> None:
    rate = speaking_rate("api_alloy", tmp_path)
    assert not rate.measured and rate.words_per_second == DEFAULT_WORDS_PER_SECOND
    assert list(tmp_path.iterdir()) == []


def test_the_script_stage_measures_each_voice_once_per_instance(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    lines: list[str] = []

    def script_stage(n: int) -> None:
        spec = JobSpec.model_validate({"topic": "A lost key", "voice_id": "espeak_male", "seed": n})
        work = tmp_path / f"job{n}"
        work.mkdir()
        ctx = StageContext(
            job_id=f"job{n}", attempt=1, spec=spec, work_dir=work, videos_dir=tmp_path,
            uploads_dir=tmp_path, created_at=datetime.now(UTC), log=lines.append,
            should_cancel=lambda: False, client_for=lambda name: None,
            config={"INSTANCE_DIR": instance},
        )  # fmt: skip
        run_script(ctx, lambda f, m: None)

    script_stage(1)
    files = list(voice_rate_cache({"INSTANCE_DIR": instance}).iterdir())
    assert len(files) == 1
    stamp = plant(files[0], 4.0)
    script_stage(2)
    assert files[0].stat().st_mtime_ns == stamp
    assert "at 240 words/min" in lines[-1]
