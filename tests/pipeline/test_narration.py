"""Narration stage against the real engines: espeak for most checks, one Piper run."""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from sora_app.pipeline import loudness
from sora_app.pipeline.ffmpeg import ffmpeg_exe
from sora_app.pipeline.narration import (
    AUDIO_NAME,
    MAX_CUE_CHARS,
    MAX_CUE_WORDS,
    narrate,
    split_cue_text,
    split_sentences,
)
from sora_app.pipeline.types import Cancelled, Narration, Scene, Script, StageError
from sora_app.pipeline.voices import DEFAULT_VOICE_ID, VOICES
from sora_app.providers import espeak, piper_tts

LONG_SENTENCE = (
    "The lighthouse keeper climbed the winding stairs, counting every step, "
    "until the lamp room door creaked open before him."
)


def _script() -> Script:
    return Script(
        title="The Dark Lamp",
        story_type="mystery",
        hook="Nobody saw the light go out.",
        scenes=[
            Scene(0, f"Nobody saw the light go out. {LONG_SENTENCE}", "The lamp"),
            Scene(1, "Silence.", "Silence"),
            Scene(2, "Then the fog rolled in. Dr. Hale ran to the shore!", "Fog"),
        ],
    )


def _read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
        assert wav.getsampwidth() == 2
        return np.frombuffer(frames, dtype="<i2"), wav.getframerate(), wav.getnchannels()


@pytest.fixture(scope="module")
def espeak_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Narration, list]:
    calls: list[tuple[float, str]] = []
    out = tmp_path_factory.mktemp("espeak")
    result = narrate(_script(), "espeak_male", out, lambda f, m: calls.append((f, m)))
    return result, calls


def test_wav_is_mono_16bit_at_engine_rate_and_matches_duration(espeak_run) -> None:
    narration, _ = espeak_run
    samples, rate, channels = _read_wav(narration.audio_path)
    assert narration.audio_path.name == AUDIO_NAME
    assert channels == 1
    assert rate == espeak.sample_rate()
    assert len(samples) / rate == pytest.approx(narration.duration, abs=1e-6)
    assert narration.duration > 3.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    assert rms > 300
    assert not narration.audio_path.with_name(AUDIO_NAME + ".tmp").exists()
    assert narration.voice_id == "espeak_male"


def test_cues_are_ordered_non_overlapping_and_inside_audio(espeak_run) -> None:
    narration, _ = espeak_run
    cues = narration.cues
    assert cues
    for cue in cues:
        assert 0.0 <= cue.start < cue.end <= narration.duration
        words = cue.text.split()
        assert len(words) <= MAX_CUE_WORDS and len(cue.text) <= MAX_CUE_CHARS
    for prev, nxt in itertools.pairwise(cues):
        assert prev.end <= nxt.start
        assert prev.scene <= nxt.scene


def test_long_sentence_is_split_into_several_cues_that_keep_every_word(espeak_run) -> None:
    narration, _ = espeak_run
    scene0 = [c.text for c in narration.cues if c.scene == 0]
    assert scene0[0] == "Nobody saw the light go out."
    assert len(scene0) >= 3
    assert " ".join(scene0[1:]) == LONG_SENTENCE


def test_scene_spans_are_contiguous_cover_duration_and_hold_their_cues(espeak_run) -> None:
    narration, _ = espeak_run
    spans = narration.scene_spans
    assert len(spans) == 3
    assert spans[0][0] == 0.0
    assert spans[-1][1] == narration.duration
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end == start
    assert all(a < b for a, b in spans)
    for cue in narration.cues:
        start, end = spans[cue.scene]
        assert start <= cue.start and cue.end <= end


def test_one_word_scene_gets_its_own_cue(espeak_run) -> None:
    narration, _ = espeak_run
    assert [c.text for c in narration.cues if c.scene == 1] == ["Silence."]


def test_progress_is_monotonic_per_sentence_and_reaches_one(espeak_run) -> None:
    _, calls = espeak_run
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert len(calls) == 1 + 5 + 1  # the initial report, one per sentence, the finished WAV
    assert calls[-2][1] == "Narrating scene 3 of 3"
    assert calls[-1][1] == "Narration ready"


def test_narration_round_trips_through_json(espeak_run, tmp_path: Path) -> None:
    narration, _ = espeak_run
    narration.save(tmp_path / "narration.json")
    assert Narration.load(tmp_path / "narration.json") == narration


def test_cancel_between_sentences_raises_and_writes_nothing(tmp_path: Path) -> None:
    checks = iter([False, False, True])
    with pytest.raises(Cancelled):
        narrate(_script(), "espeak_male", tmp_path, lambda f, m: None, lambda: next(checks))
    assert not (tmp_path / AUDIO_NAME).exists()


def test_unknown_voice_raises_stage_error(tmp_path: Path) -> None:
    with pytest.raises(StageError) as info:
        narrate(_script(), "no_such_voice", tmp_path, lambda f, m: None)
    assert info.value.code == "UNKNOWN_VOICE"


def _median_f0(samples: np.ndarray, rate: int) -> float:
    """Median pitch of the loud 40 ms frames, by autocorrelation: a cheap voice fingerprint."""
    x = samples.astype(np.float64)
    n = int(0.04 * rate)
    floor = 0.3 * np.sqrt(np.mean(x**2))
    pitches = []
    for i in range(0, len(x) - n, n):
        frame = x[i : i + n] - x[i : i + n].mean()
        if np.sqrt(np.mean(frame**2)) < floor:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1 :]
        lo, hi = rate // 400, rate // 60
        pitches.append(rate / (lo + int(np.argmax(ac[lo:hi]))))
    return float(np.median(pitches))


def _sounds_different(a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]) -> bool:
    """Different by more than espeak's own run-to-run jitter in length or in pitch."""
    len_a, len_b = len(a[0]), len(b[0])
    f0_a, f0_b = _median_f0(*a), _median_f0(*b)
    return abs(len_a - len_b) > 0.03 * max(len_a, len_b) or abs(f0_a - f0_b) > 0.08 * max(
        f0_a, f0_b
    )


def test_different_voice_ids_sound_different(tmp_path: Path) -> None:
    script = Script("t", "mystery", [Scene(0, "The door opened slowly in the dark.", "Door")])
    renders = {}
    for voice_id in ("espeak_male", "espeak_female"):
        result = narrate(script, voice_id, tmp_path / voice_id, lambda f, m: None)
        samples, rate, _ = _read_wav(result.audio_path)
        renders[voice_id] = (samples, rate)
    assert _sounds_different(renders["espeak_male"], renders["espeak_female"])
    assert _median_f0(*renders["espeak_male"]) < _median_f0(*renders["espeak_female"])


def test_every_espeak_catalogue_voice_sounds_distinct() -> None:
    renders = {}
    for voice in VOICES.values():
        if voice.engine == "espeak":
            p = voice.params
            text = "A quiet night settles over the old town."
            renders[voice.id] = espeak.synthesize(
                text, p["voice"], p["rate"], p["pitch"], p["range"]
            )
    assert len(renders) >= 5
    for a, b in itertools.combinations(renders, 2):
        assert _sounds_different(renders[a], renders[b]), f"{a} sounds like {b}"


def test_espeak_is_safe_to_call_from_threads() -> None:
    jobs = [
        ("First line here.", "en-us+m3"),
        ("A second, much longer line of speech for the test.", "en-us+f3"),
        ("Third.", "en-us+m3"),
    ] * 2
    serial = [espeak.synthesize(t, v) for t, v in jobs]
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(lambda job: espeak.synthesize(*job), jobs))
    for one, other in zip(serial, threaded, strict=True):
        assert not _sounds_different(one, other)


def test_espeak_unknown_voice_is_a_stage_error() -> None:
    with pytest.raises(StageError):
        espeak.synthesize("Hello.", voice="no-such-language")


def test_missing_user_piper_model_is_tts_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StageError) as info:
        piper_tts.synthesize("Hello.", model_path=tmp_path / "missing.onnx")
    assert info.value.code == "TTS_UNAVAILABLE"


def test_default_piper_voice_narrates(tmp_path: Path) -> None:
    script = Script(
        "t",
        "mystery",
        [Scene(0, "The storm broke at midnight.", "Storm"), Scene(1, "Morning came.", "Dawn")],
    )
    result = narrate(script, DEFAULT_VOICE_ID, tmp_path, lambda f, m: None)
    samples, rate, channels = _read_wav(result.audio_path)
    assert channels == 1 and rate == 22050
    assert len(samples) / rate == pytest.approx(result.duration, abs=1e-6)
    assert float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > 300
    assert [c.text for c in result.cues] == ["The storm broke at midnight.", "Morning came."]
    assert result.scene_spans[-1][1] == result.duration
    deep = piper_tts.synthesize(LONG_SENTENCE, **VOICES["male_narrator_deep"].params)[0]
    fast = piper_tts.synthesize(LONG_SENTENCE, **VOICES["male_narrator_energetic"].params)[0]
    assert len(fast) < 0.9 * len(deep)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        ("Dr. Hale met J. Smith at 3.5 miles out.", ["Dr. Hale met J. Smith at 3.5 miles out."]),
        ('"Run!" she said. Then   nothing', ['"Run!" she said.', "Then nothing"]),
        ("Wait... What?", ["Wait...", "What?"]),
        ("word", ["word"]),
        ("  ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_cue_text_respects_limits_and_keeps_words() -> None:
    chunks = split_cue_text(LONG_SENTENCE)
    assert len(chunks) > 1
    assert " ".join(chunks) == LONG_SENTENCE
    assert all(len(c.split()) <= MAX_CUE_WORDS and len(c) <= MAX_CUE_CHARS for c in chunks)
    assert split_cue_text("Short and sweet.") == ["Short and sweet."]
    long_word = "x" * 60
    assert split_cue_text(f"{long_word} is long") == [long_word, "is long"]


def _ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBFS) by ffmpeg's own BS.1770 meter: an independent check."""
    cmd = [ffmpeg_exe(), "-nostats", "-hide_banner", "-i", str(path)]
    cmd += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    summary = err[err.rindex("Summary:") :]
    lufs = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)
    assert lufs and peak, summary
    return float(lufs.group(1)), float(peak.group(1))


def _speech_like(seconds: float, rate: int, level: float, seed: int = 0) -> np.ndarray:
    """Voiced syllables (harmonics of a wobbling ~120 Hz pitch), hiss bursts and pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 15 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    words = (np.sin(2 * np.pi * 0.5 * t) > -0.3).astype(float)  # a pause every 2 s
    hiss = rng.normal(size=t.size) * (np.sin(2 * np.pi * 1.3 * t) > 0.8)
    sig = (voiced * syllables + 0.3 * hiss) * words
    return level * sig / np.abs(sig).max()


@pytest.mark.parametrize("rate", [22050, 48000])
def test_loudness_meter_matches_bs1770_reference_tone(rate: int) -> None:
    t = np.arange(5 * rate) / rate
    # BS.1770: a 997 Hz sine of amplitude A in one channel reads 20 log10(A) - 3.01 LUFS.
    for amp in (1.0, 0.1):
        got = loudness.integrated_loudness(amp * np.sin(2 * np.pi * 997 * t), rate)
        assert got == pytest.approx(20 * math.log10(amp) - 3.01, abs=0.1)
    assert loudness.integrated_loudness(np.zeros(rate), rate) == -math.inf
    # Blocks 10 LU below the rest are gated out: a quiet tail does not drag the reading down.
    loud_then_quiet = np.concatenate([0.5 * np.sin(2 * np.pi * 997 * t), 0.01 * t[: 2 * rate]])
    assert loudness.integrated_loudness(loud_then_quiet, rate) == pytest.approx(-9.03, abs=0.2)


@pytest.mark.parametrize("level", [0.02, 0.3, 1.0])
def test_normalize_reaches_target_with_peaks_under_ceiling(level: float, tmp_path: Path) -> None:
    rate = 22050
    x = _speech_like(12.0, rate, level)
    out = loudness.normalize(x, rate)
    assert len(out) == len(x)
    assert loudness.integrated_loudness(out, rate) == pytest.approx(loudness.TARGET_LUFS, abs=0.5)
    assert 20 * math.log10(loudness.true_peak(out)) <= loudness.PEAK_DBFS + 0.1
    assert np.abs(out).max() < 1.0
    path = tmp_path / "speech.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.round(out * 32767).astype("<i2").tobytes())
    lufs, peak = _ebur128(path)
    assert lufs == pytest.approx(loudness.TARGET_LUFS, abs=1.0)
    assert peak < 0.0


def test_normalize_leaves_silence_alone() -> None:
    assert not loudness.normalize(np.zeros(1000), 22050).any()
    assert loudness.normalize(np.zeros(0), 22050).size == 0


@pytest.mark.parametrize("gain", [0.03, 4.0])
def test_narration_is_loudness_normalised_for_quiet_and_loud_voices(
    gain: float, tmp_path: Path
) -> None:
    """A whisper-quiet or a clipping-loud engine both come out at about -16 LUFS."""

    def speaker(_voice):
        def speak(text: str) -> tuple[np.ndarray, int]:
            audio, rate = espeak.synthesize(text, "en-us+m3")
            scaled = np.clip(audio.astype(np.float64) * gain, -32768, 32767)
            return scaled.astype(np.int16), rate

        return speak

    raw = espeak.synthesize("Then the fog rolled in.", "en-us+m3")[0].astype(np.float64) * gain
    assert np.abs(raw).max() < 2000 if gain < 1 else np.abs(raw).max() > 32767
    # A "remote" catalogue voice lets the test plug in its own (scaled) engine, no patching.
    result = narrate(_script(), "api_onyx", tmp_path, lambda f, m: None, remote=speaker)
    samples, _, _ = _read_wav(result.audio_path)
    lufs, peak = _ebur128(result.audio_path)
    assert lufs == pytest.approx(loudness.TARGET_LUFS, abs=2.0)
    assert peak < 0.0
    assert np.abs(samples.astype(np.int32)).max() < 32767


def test_a_scene_with_a_duration_holds_its_picture_that_long(tmp_path) -> None:
    """A creator's scene duration pads the pause after its words (never cuts them), on
    whole frames, and leaves the other scenes as long as they were."""
    script = _script()
    plain = narrate(script, "espeak_male", tmp_path / "a", lambda f, m: None, frame_rate=30)
    spans = [b - a for a, b in plain.scene_spans]
    held = Script(title=script.title, story_type=script.story_type, scenes=[
        Scene(**{**s.__dict__, "seconds": spans[1] + 3.0}) if s.index == 1 else s
        for s in script.scenes])  # fmt: skip
    longer = narrate(held, "espeak_male", tmp_path / "b", lambda f, m: None, frame_rate=30)
    got = [b - a for a, b in longer.scene_spans]
    assert got[1] == pytest.approx(spans[1] + 3.0, abs=1 / 30)
    frame = 1 / 30 + 1e-6  # espeak's output may vary by a few samples between calls
    assert got[0] == pytest.approx(spans[0], abs=frame)
    assert got[2:] == pytest.approx(spans[2:], abs=frame)
    assert all(round(a * 30, 3) == round(a * 30) for a, _ in longer.scene_spans)
    short = Script(title=script.title, story_type=script.story_type, scenes=[
        Scene(**{**s.__dict__, "seconds": 0.2}) for s in script.scenes])  # fmt: skip
    same = narrate(short, "espeak_male", tmp_path / "c", lambda f, m: None, frame_rate=30)
    assert same.duration == pytest.approx(plain.duration, abs=frame), "shorter: no cut"
