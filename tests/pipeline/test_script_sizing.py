"""The offline writer sizes a script for the voice that will read it (see script.py)."""

from __future__ import annotations

import pytest

from sora_app.pipeline.fit import SCENE_GAP, SENTENCE_GAP
from sora_app.pipeline.script import PACINGS, WORDS_PER_MINUTE, write_script
from sora_app.pipeline.speech import TRIM_KEEP
from sora_app.pipeline.types import Script
from tests.pipeline.test_script import _all_sentences, _req, _sentences, _words


@pytest.mark.parametrize(
    ("duration", "num_scenes"), [(0.5, 1), (0.5, 3), (1, 5), (2, 6), (5, 10), (10, 20)]
)
@pytest.mark.parametrize("pacing", PACINGS)
@pytest.mark.parametrize("wpm", [None, 195, 240])
def test_spoken_estimate_tracks_duration(
    duration: float, num_scenes: int, pacing: str, wpm: float | None
) -> None:
    """Words at the voice's rate plus narration's default pauses land near the target."""
    for story_type in ("scary_horror", "educational", "comedy"):
        req = _req(
            duration_minutes=duration, num_scenes=num_scenes, pacing=pacing,
            story_type=story_type, words_per_minute=wpm,
        )  # fmt: skip
        script = write_script(req)
        target = duration * 60
        assert abs(_spoken_seconds(script, wpm or WORDS_PER_MINUTE) - target) <= 0.1 * target


def _spoken_seconds(script: Script, wpm: float) -> float:
    """What narration will take before fitting: speech at `wpm` plus its default pauses
    and the quiet margin kept around each sentence."""
    sentences = len(_all_sentences(script))
    pauses = sentences * (SENTENCE_GAP + 2 * TRIM_KEEP)
    pauses += len(script.scenes) * (SCENE_GAP - SENTENCE_GAP)
    return _words(script) / (wpm / 60) + pauses


def test_a_faster_voice_gets_proportionally_more_words() -> None:
    slow, fast = (
        _words(write_script(_req(duration_minutes=3, words_per_minute=w))) for w in (150, 240)
    )
    assert 1.45 < fast / slow < 1.75


def test_a_tight_budget_chooses_short_sentences_and_skips_the_invented_intro() -> None:
    """Five scenes in 12 s: every scene still speaks, in its shortest fitting form."""
    for seed in range(4):
        req = _req(duration_minutes=0.2, num_scenes=5, words_per_minute=195, seed=seed)
        script = write_script(req)
        assert all(_sentences(s.narration) for s in script.scenes)
        assert _sentences(script.scenes[0].narration) == [script.hook]
        assert _spoken_seconds(script, 195) < 12 * 1.25
    roomy = write_script(_req(duration_minutes=1, num_scenes=5, words_per_minute=195))
    assert len(_sentences(roomy.scenes[0].narration)) > 1
