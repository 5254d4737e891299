"""Word timings from the real speech engines match the audio, and reach the ASS events.

Words are separated by commas, so each one starts after an audible pause: its onset can be
found in the narration's samples (energy after silence) and compared to the timing the
engine reported, after trimming, pauses and a tempo change.
"""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from sora_app.jobs.spec import JobSpec
from sora_app.pipeline import subtitles, word_timing
from sora_app.pipeline.narration import narrate
from sora_app.pipeline.types import Cue, Narration, Scene, Script, Word
from sora_app.providers import espeak

TEXT = "Red, green, yellow, purple, orange, silver."
WORDS = TEXT.split()
TOLERANCE = 0.15


def _samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64), rate


def _onsets(audio: np.ndarray, rate: int) -> list[float]:
    """Seconds where sound starts after at least 60 ms of near silence (5 ms frames)."""
    win = rate // 200
    env = np.abs(audio[: len(audio) // win * win]).reshape(-1, win).max(axis=1)
    loud = env > 0.03 * env.max()
    found, quiet = [], 10**9
    for k, is_loud in enumerate(loud):
        if is_loud and quiet >= 12:
            found.append(k * win / rate)
        quiet = 0 if is_loud else quiet + 1
    return found


def _assert_near_onsets(starts: list[float], onsets: list[float]) -> None:
    assert len(starts) == len(WORDS)
    for word, start in zip(WORDS, starts, strict=True):
        nearest = min(onsets, key=lambda t: abs(t - start))
        assert abs(nearest - start) <= TOLERANCE, (word, start, onsets)


def _narrate(voice: str, out: Path, target: float | None = None) -> Narration:
    script = Script("Colours", "mystery", [Scene(0, TEXT, "Colours")])
    return narrate(script, voice, out, lambda _f, _s: None, target_seconds=target)


def _ass_word_starts(path: Path) -> list[tuple[str, float]]:
    """(highlighted word, event start) of every word-timed Dialogue event."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(
            r"Dialogue: 0,(\d+):(\d\d):(\d\d\.\d\d),.*\{\\1c[^}]*\}([^{]*)\{\\r\}", line
        )
        if found:
            h, m, s, word = found.groups()
            out.append((word, int(h) * 3600 + int(m) * 60 + float(s)))
    return out


@pytest.mark.parametrize("voice", ["espeak_male", "male_narrator_deep"])
@pytest.mark.parametrize("stretch", [False, True])
def test_word_starts_match_the_audio_and_the_ass(voice: str, stretch: bool, tmp_path) -> None:
    natural = _narrate(voice, tmp_path / "natural")
    narration = natural
    if stretch:  # a target only a faster tempo reaches: the words must follow the stretch
        speech = natural.duration - 0.3
        narration = _narrate(voice, tmp_path / "fitted", speech / 1.08 + 0.15)
        assert narration.tempo > 1.0
    words = [w for cue in narration.cues for w in cue.words]
    assert [w.text for w in words] == WORDS
    onsets = _onsets(*_samples(narration.audio_path))
    _assert_near_onsets([w.start for w in words], onsets)

    ass = subtitles.write_ass(narration.cues, tmp_path / "subs.ass", 1080, 1920)
    events = _ass_word_starts(ass)
    assert [w for w, _ in events] == WORDS
    # The first event opens with its cue; every later one starts at its word's time.
    for (_, at), word in zip(events[1:], words[1:], strict=True):
        assert at == pytest.approx(word.start, abs=0.006)
    _assert_near_onsets([narration.cues[0].start, *(at for _, at in events[1:])], onsets)


def test_espeak_reports_one_mark_per_word() -> None:
    audio, rate, marks = espeak.synthesize_with_words(TEXT)
    assert [TEXT[pos:].split()[0] for pos, _ in marks] == WORDS
    assert all(0 <= t < len(audio) / rate for _, t in marks)


def test_estimate_without_engine_timings_snaps_to_pauses() -> None:
    """A hosted voice reports no words: the estimate still lands on each audible start."""
    audio, rate = espeak.synthesize(TEXT)
    _assert_near_onsets(word_timing.estimate(TEXT, audio, rate), _onsets(audio, rate))


def test_dash_and_number_tokens_get_monotonic_starts() -> None:
    text = "It took 1999 steps — then silence."
    audio, rate, marks = espeak.synthesize_with_words(text)
    starts = word_timing.from_char_marks(text, marks, len(audio) / rate)
    assert len(starts) == len(text.split())
    assert starts == sorted(starts)
    dash = text.split().index("—")
    assert starts[dash] == starts[dash + 1]  # never highlighted on its own


def test_saved_narration_without_words_still_loads(tmp_path) -> None:
    old = {
        "audio_path": "narration.wav",
        "duration": 2.0,
        "cues": [{"start": 0.0, "end": 1.5, "text": "Old words.", "scene": 0}],
        "scene_spans": [[0.0, 2.0]],
    }
    path = tmp_path / "narration.json"
    path.write_text(json.dumps(old))
    loaded = Narration.load(path)
    assert loaded.cues == [Cue(0.0, 1.5, "Old words.", 0)]
    loaded.cues[0].words = [Word("Old", 0.0, 0.6), Word("words.", 0.6, 1.5)]
    loaded.save(path)
    assert Narration.load(path).cues == loaded.cues


def test_word_caption_option_and_defaults(tmp_path) -> None:
    cue = Cue(0.0, 1.0, "Two words", 0, [Word("Two", 0.0, 0.4), Word("words", 0.4, 1.0)])

    def events(width: int, height: int, **kw: object) -> list[str]:
        path = subtitles.write_ass([cue], tmp_path / "s.ass", width, height, **kw)
        return [x for x in path.read_text().splitlines() if x.startswith("Dialogue:")]

    assert len(events(1080, 1920)) == 2  # 9:16: on by default
    assert len(events(1920, 1080)) == 1  # 16:9 and 1:1: off by default
    assert len(events(1080, 1080)) == 1
    assert len(events(1920, 1080, word_captions=True)) == 2
    assert len(events(1080, 1920, word_captions=False)) == 1
    # The request option reaches compile untouched (None: the frame decides).
    spec = JobSpec.model_validate({"topic": "x", "aspect_ratio": "16:9", "word_captions": True})
    assert spec.compile_options().word_captions is True
    assert JobSpec.model_validate({"topic": "x"}).compile_options().word_captions is None
