"""Fitting spoken sentences to a length: the plan (pure arithmetic) and the tempo change."""

from __future__ import annotations

import numpy as np
import pytest

from sora_app.pipeline import fit

# Five sentences over three scenes, 20 s of speech: natural length 20 + 1.85 s of pauses.
SPEECH = [4.0, 3.0, 5.0, 2.0, 6.0]
SCENES = [0, 0, 1, 1, 2]
NATURAL = sum(SPEECH) + sum(fit.base_gaps(SCENES))


def check_limits(plan: fit.Fit) -> None:
    assert fit.MIN_TEMPO <= plan.tempo <= fit.MAX_TEMPO
    assert all(fit.MIN_GAP - 1e-9 <= g <= fit.MAX_GAP + 1e-9 for g in plan.gaps)
    assert len(plan.gaps) == len(plan.keep)


def planned_length(plan: fit.Fit) -> float:
    return sum(SPEECH[i] for i in plan.keep) / plan.tempo + sum(plan.gaps)


def test_no_target_keeps_the_natural_reading() -> None:
    plan = fit.plan(SPEECH, SCENES, None)
    assert plan.tempo == 1.0 and plan.keep == [0, 1, 2, 3, 4]
    assert plan.gaps == [fit.SENTENCE_GAP, fit.SCENE_GAP, fit.SENTENCE_GAP, fit.SCENE_GAP, fit.TAIL]


@pytest.mark.parametrize("target", [19.0, 20.0, NATURAL, 24.0, 26.0, 28.0])
def test_reachable_targets_are_met_exactly(target: float) -> None:
    plan = fit.plan(SPEECH, SCENES, target)
    check_limits(plan)
    assert plan.met and plan.keep == [0, 1, 2, 3, 4]
    assert planned_length(plan) == pytest.approx(target, abs=1e-6)
    assert plan.gaps[1] >= plan.gaps[0], "a scene change never pauses less than a sentence"


@pytest.mark.parametrize("miss", [-0.2, 0.5])
def test_a_near_miss_moves_only_the_pauses(miss: float) -> None:
    plan = fit.plan(SPEECH, SCENES, NATURAL + miss)
    assert plan.tempo == 1.0
    assert planned_length(plan) == pytest.approx(NATURAL + miss)


def test_a_bigger_miss_mixes_tempo_and_pauses() -> None:
    plan = fit.plan(SPEECH, SCENES, NATURAL + 2.5)
    assert plan.tempo < 1.0 and plan.gaps[0] > fit.SENTENCE_GAP


def test_too_long_leaves_out_the_shortest_sentence_that_is_enough() -> None:
    plan = fit.plan(SPEECH, SCENES, 17.0)  # fastest natural reading of all five: 18.9 s
    check_limits(plan)
    assert plan.met and planned_length(plan) == pytest.approx(17.0)
    assert plan.keep == [0, 1, 2, 4], "the 2 s sentence goes; opening and ending stay"


def test_never_more_than_a_fifth_of_the_speech_is_cut() -> None:
    """Reaching 12 s would need 8 s of these 20 s cut: reported instead of gutting the story."""
    plan = fit.plan(SPEECH, SCENES, 12.0)
    assert not plan.met
    cut = sum(SPEECH) - sum(SPEECH[i] for i in plan.keep)
    assert cut <= fit.MAX_CUT * sum(SPEECH)
    assert {SCENES[i] for i in plan.keep} == {0, 1, 2}, "every scene keeps a sentence"
    assert plan.tempo == fit.MAX_TEMPO and plan.length > 12.0


def test_too_long_with_nothing_to_leave_out_is_reported() -> None:
    plan = fit.plan([6.0, 6.0], [0, 1], 8.0)
    assert not plan.met and plan.keep == [0, 1]
    assert plan.tempo == fit.MAX_TEMPO and plan.gaps == [fit.MIN_GAP, fit.MIN_GAP]
    assert plan.length > 8.0


def test_too_short_is_stretched_to_the_limits_and_reported() -> None:
    plan = fit.plan(SPEECH, SCENES, 60.0)
    assert not plan.met
    assert plan.tempo == fit.MIN_TEMPO and set(plan.gaps) == {fit.MAX_GAP}
    assert plan.length == pytest.approx(planned_length(plan)) and plan.length < 60.0


def test_the_same_input_gives_the_same_plan() -> None:
    assert fit.plan(SPEECH, SCENES, 19.0) == fit.plan(SPEECH, SCENES, 19.0)


def test_tolerance_is_five_percent_and_at_most_one_and_a_half_seconds() -> None:
    assert fit.tolerance(12) == pytest.approx(0.6)
    assert fit.tolerance(180) == 1.5


def _tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _frequency(samples: np.ndarray, rate: int) -> float:
    signs = np.signbit(samples[rate // 20 : -rate // 20].astype(np.int32))
    return np.count_nonzero(signs[1:] != signs[:-1]) / 2 / (len(signs) / rate)


@pytest.mark.parametrize("tempo", [0.9, 1.1])
def test_stretch_keeps_pitch_and_gives_exact_lengths(tempo: float) -> None:
    rate = 22050
    pieces = [_tone(220, 1.0, rate), np.zeros(rate // 2, np.int16), _tone(330, 0.7, rate)]
    out = fit.stretch(pieces, rate, tempo)
    assert [len(p) for p in out] == [round(len(p) / tempo) for p in pieces]
    assert _frequency(out[0], rate) == pytest.approx(220, rel=0.02)
    assert _frequency(out[2], rate) == pytest.approx(330, rel=0.02)
    assert not np.any(out[1])
    assert fit.stretch(pieces, rate, 1.0) == pieces
