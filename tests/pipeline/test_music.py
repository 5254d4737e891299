"""Music beds, uploaded tracks, volume and ducking: real ffmpeg, decoded and measured."""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from sora_app.jobs.spec import JobSpec
from sora_app.pipeline import loudness
from sora_app.pipeline.artefacts import ArtefactStore
from sora_app.pipeline.compile import compile_video
from sora_app.pipeline.compile_audio import Bed, audio_graph, bed_inputs, choose_bed
from sora_app.pipeline.ffmpeg import run_ffmpeg
from sora_app.pipeline.music import (
    BED_LUFS,
    EVAL_RATE,
    MOOD_NAMES,
    MOODS,
    RATE,
    bed_graph,
    mood_expression,
)
from sora_app.pipeline.segments import compile_segments
from sora_app.pipeline.types import CompileOptions, Narration, StageError
from sora_app.providers import espeak

LINES = ("The lighthouse keeper had not been seen for three days.",
         "Nobody in the village would say his name.",
         "Then one night, the lamp came on by itself.")  # fmt: skip
GAPS = (0.3, 2.5)
"""A sentence gap, then a long pause the bed must come back up in."""


def _quiet(_fraction: float, _status: str) -> None:
    """Progress is not what these tests look at."""


def _render(graph: list[str], inputs: list[str], seconds: float, out: Path) -> np.ndarray:
    """[aout] of a graph as (2, samples) floats at 48 kHz, through the pipeline's runner."""
    args = [*inputs, "-filter_complex", ";".join(graph), "-map", "[aout]"]
    args += ["-t", f"{seconds:.6f}", "-f", "f32le", "-ac", "2", "-ar", str(RATE), "-y", str(out)]
    run_ffmpeg(args, seconds, _quiet, lambda: False, "test render")
    return np.fromfile(out, "<f4").reshape(-1, 2).T.astype(np.float64)


def _bed(mood: str, seconds: float, out: Path, volume: float = 0.0) -> np.ndarray:
    return _render(bed_graph(mood, seconds, 3, volume, "[aout]"), [], seconds, out)


def _lufs(x: np.ndarray) -> float:
    return loudness.integrated_loudness_channels(list(x), RATE)


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x * x) + 1e-20))


def _cut(x: np.ndarray, start: float, end: float) -> np.ndarray:
    return x[:, round(start * RATE) : round(end * RATE)]


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes())
    return path


def _track(folder: Path, suffix: str, seconds: float, amplitude: float = 0.5) -> Path:
    """A 660 Hz tone whose level climbs from 20 % to full over the track: loops show."""
    path = folder / f"track-{seconds:g}-{amplitude:g}{suffix}"
    tone = f"aevalsrc='{amplitude}*(0.2+0.8*t/{seconds})*sin(2*PI*660*t)':s=44100:d={seconds}"
    run_ffmpeg(["-filter_complex", tone, "-y", str(path)], seconds, _quiet, lambda: False, "track")
    return path


@pytest.fixture(scope="module")
def beds(tmp_path_factory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("beds")
    return {mood: _bed(mood, 12.0, folder / f"{mood}.f32") for mood in MOOD_NAMES}


@pytest.mark.parametrize("mood", MOOD_NAMES)
def test_each_mood_has_its_length_and_the_bed_level(beds, mood):
    x = beds[mood]
    assert x.shape[1] == 12 * RATE
    middle = _cut(x, 3.0, 9.0)  # past the fade in, before the fade out
    assert _lufs(middle) == pytest.approx(BED_LUFS, abs=1.5)
    assert all(_db(_cut(x, t, t + 0.5)) > -60 for t in np.arange(0.5, 11.0, 0.5))
    assert np.abs(x).max() < 0.5
    assert _db(_cut(x, 11.9, 12.0)) < _db(middle) - 15  # faded out


def _features(x: np.ndarray) -> tuple[float, float]:
    """Spectral centroid (register, brightness) and mean change of the 50 ms level (pulse)."""
    mono = x[0]
    power = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    centroid = float((power * np.fft.rfftfreq(len(mono), 1 / RATE)).sum() / power.sum())
    win = RATE // 20
    levels = 10 * np.log10(np.mean(mono[: len(mono) // win * win].reshape(-1, win) ** 2, 1))
    return centroid, float(np.mean(np.abs(np.diff(levels))))


def test_moods_sound_different(beds):
    features = {mood: _features(_cut(x, 3.0, 9.0)) for mood, x in beds.items()}
    for a, b in itertools.combinations(MOOD_NAMES, 2):
        (ca, fa), (cb, fb) = features[a], features[b]
        apart = max(ca, cb) / min(ca, cb) > 1.3 or max(fa, fb) / min(fa, fb) > 1.5
        assert apart, f"{a} and {b} measure alike: {features[a]} vs {features[b]}"
    assert features["playful"][0] > 2 * features["dark"][0]  # high plucks vs low pad
    assert features["playful"][1] > 3 * features["calm"][1]  # staccato vs sustained


@pytest.mark.parametrize("mood", MOOD_NAMES)
def test_a_mood_period_repeats_exactly_so_its_loop_has_no_seam(tmp_path, mood):
    """aloop repeats the first period: that is seamless when the music itself is periodic."""
    period = MOODS[mood].period
    graph = [f"aevalsrc={mood_expression(MOODS[mood], 1)}:s={EVAL_RATE}:d={period + 1}[aout]"]
    x = _render(graph, [], period + 1, tmp_path / "raw.f32")[0]
    start, end, later = RATE // 100, RATE * 9 // 10, round(period * RATE)  # resampler: no edges
    first, again = x[start:end], x[later + start : later + end]
    assert np.abs(first).max() > 0.01
    assert np.abs(first - again).max() < 1e-3 * np.abs(first).max()


def test_any_length_beyond_the_period(tmp_path):
    x = _bed("tense", 19.37, tmp_path / "long.f32")
    assert abs(x.shape[1] - 19.37 * RATE) <= 1
    assert all(_db(_cut(x, t, t + 1)) > -50 for t in range(1, 16))


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> tuple[Path, Path, float, list[tuple[float, float]]]:
    """Espeak narration at -16 LUFS with a sentence gap and a long pause; a silent twin."""
    folder = tmp_path_factory.mktemp("speech")
    parts, spans, at = [], [], 0.0
    for k, line in enumerate(LINES):
        audio, rate = espeak.synthesize(line)
        spoken = _trimmed(audio.astype(np.float64) / 32768)
        spans.append((at, at + len(spoken) / rate))
        gap = GAPS[k] if k < len(GAPS) else 0.0
        parts += [spoken, np.zeros(round(gap * rate))]
        at = spans[-1][1] + gap
    voice = loudness.normalize(np.concatenate(parts), rate)
    duration = len(voice) / rate
    silence = _write_wav(folder / "silence.wav", np.zeros_like(voice), rate)
    return _write_wav(folder / "voice.wav", voice, rate), silence, duration, spans


def _trimmed(x: np.ndarray) -> np.ndarray:
    """espeak pads its speech with silence: keep from the first to the last audible sample."""
    loud = np.flatnonzero(np.abs(x) > 0.01)
    return x[loud[0] : loud[-1] + 1]


def _mix(voice: Path, bed: Bed | None, duration: float, out: Path) -> np.ndarray:
    graph = audio_graph(0, duration, bed, 3, bed_input=1)
    return _render(graph, ["-i", str(voice), *bed_inputs(bed)], duration, out)


@pytest.mark.parametrize(
    ("mood", "upload", "volume"), [("tense", False, 0.0), ("calm", True, 0.0), ("calm", False, 6.0)]
)
def test_the_bed_ducks_under_speech_and_comes_back_in_the_pause(
    speech, tmp_path, mood, upload, volume
):
    voice_wav, silence_wav, duration, spans = speech
    track = str(_track(tmp_path, ".wav", 20.0)) if upload else None
    opts = CompileOptions(music_mood=mood, music_volume=volume, music_path=track)
    bed = choose_bed(opts, duration)
    voice = _mix(voice_wav, None, duration, tmp_path / "voice.f32")
    ducked = _mix(voice_wav, bed, duration, tmp_path / "mix.f32") - voice
    free = _mix(silence_wav, bed, duration, tmp_path / "free.f32")  # nothing to duck under
    assert _lufs(voice) == pytest.approx(-16.0, abs=0.5)
    talk = [(a + 0.3, b) for a, b in spans[1:]]  # the duck has settled
    pause = (spans[1][1] + 1.2, spans[2][0] - 0.1)  # the release is over
    gains = [_db(_cut(ducked, a, b)) - _db(_cut(free, a, b)) for a, b in talk]
    back = _db(_cut(ducked, *pause)) - _db(_cut(free, *pause))
    assert max(gains) < -6.0, gains
    assert back > -1.5 and back - max(gains) > 6.0, (back, gains)
    under = [_lufs(_cut(voice, a, b)) - _lufs(_cut(ducked, a, b)) for a, b in talk]
    assert min(under) >= 12.0, under
    assert _lufs(_cut(free, *pause)) > -35.0  # clearly there in the pause


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".m4a", ".ogg", ".flac"])
def test_a_short_track_loops_to_the_full_length(tmp_path, suffix):
    track = _track(tmp_path, suffix, 3.0)
    bed = choose_bed(CompileOptions(music_path=str(track)), 10.0)
    silence = _write_wav(tmp_path / "silence.wav", np.zeros(10 * 22050), 22050)
    x = _mix(silence, bed, 10.0, tmp_path / "bed.f32")
    assert x.shape[1] == 10 * RATE
    assert _lufs(_cut(x, 0.5, 6.5)) == pytest.approx(BED_LUFS, abs=1.0)
    rising = [_db(_cut(x, t + 0.3, t + 0.8)) - _db(_cut(x, t + 2.2, t + 2.7)) for t in (0, 3)]
    assert all(-12 < r < -6 for r in rising), rising  # the climb starts again every 3 s
    assert all(_db(_cut(x, t, t + 0.5)) > -50 for t in np.arange(0.5, 9.0, 0.5))


def test_a_loud_master_and_a_quiet_one_play_at_the_same_level(tmp_path):
    silence = _write_wav(tmp_path / "silence.wav", np.zeros(8 * 22050), 22050)
    levels = []
    for amplitude in (0.95, 0.03):  # ~-9 and ~-39 LUFS
        track = _track(tmp_path, ".flac", 12.0, amplitude)
        x = _mix(silence, choose_bed(CompileOptions(music_path=str(track)), 8.0), 8.0,
                 tmp_path / "bed.f32")  # fmt: skip
        levels.append(_lufs(x))
        assert _db(_cut(x, 7.9, 8.0)) < _db(_cut(x, 4.0, 5.0)) - 15  # trimmed, faded out
    assert levels[0] == pytest.approx(levels[1], abs=0.5)
    assert BED_LUFS - 3 < levels[0] < BED_LUFS + 1  # what played was measured (less the fade)


def test_volume_moves_the_level_by_the_requested_db(tmp_path):
    base = _db(_cut(_bed("uplifting", 6.0, tmp_path / "a.f32"), 3.0, 4.0))
    for volume in (-10.0, 5.0):
        moved = _db(_cut(_bed("uplifting", 6.0, tmp_path / "b.f32", volume), 3.0, 4.0))
        assert moved - base == pytest.approx(volume, abs=0.2)
    assert choose_bed(CompileOptions(music_volume=40.0), 5.0) == Bed("calm", 6.0)
    assert choose_bed(CompileOptions(music=False, music_volume=3.0), 5.0) is None


def _audio_of(video: Path) -> np.ndarray:
    with av.open(str(video)) as container:
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
    return np.concatenate(frames, axis=1)


def test_both_compiles_play_an_uploaded_track(tmp_path):
    """The reference single pass and the segmented compile both mix the track in."""
    track = _track(tmp_path, ".mp3", 2.0)
    image = tmp_path / "still.png"
    Image.new("RGB", (64, 64), (90, 40, 160)).save(image)
    silence = _write_wav(tmp_path / "voice.wav", np.zeros(3 * 22050), 22050)
    narration = Narration(silence, 3.0, [], [(0.0, 3.0)])
    opts = CompileOptions(width=64, height=64, fps=10, subtitles=False, music_path=str(track))
    single = compile_video([image], narration, tmp_path / "single.mp4", opts, _quiet)
    store = ArtefactStore(tmp_path / "artefacts")
    report = compile_segments([image], narration, tmp_path / "seg.mp4", opts, _quiet, store)
    for video in (single.path, report.info.path):
        x = _audio_of(video)[0, RATE // 2 : 2 * RATE]
        spectrum = np.abs(np.fft.rfft(x))
        assert np.fft.rfftfreq(len(x), 1 / RATE)[spectrum.argmax()] == pytest.approx(660, abs=3)
    missing = CompileOptions(width=64, height=64, music_path=str(tmp_path / "gone.mp3"))
    with pytest.raises(StageError) as failed:
        compile_video([image], narration, tmp_path / "x.mp4", missing, _quiet)
    assert failed.value.code == "COMPILE_INPUT" and "gone.mp3" in failed.value.message


def test_job_spec_music_fields():
    spec = JobSpec.model_validate({"topic": "x", "story_type": "scary_horror"})
    assert spec.compile_options().music_mood == "dark" and spec.music_volume == 0.0
    chosen = JobSpec.model_validate({"topic": "x", "music_mood": "Playful", "music_volume": -6})
    assert (chosen.compile_options().music_mood, chosen.compile_options().music_volume) == (
        "playful", -6.0)  # fmt: skip
    for bad, field in [({"music_mood": "sad"}, "music_mood"), ({"music_volume": 7}, "music_volume"),
                       ({"music_volume": "loud"}, "music_volume"),
                       ({"music_volume": -25}, "music_volume")]:  # fmt: skip
        with pytest.raises(ValidationError) as error:
            JobSpec.model_validate({"topic": "x", **bad})
        assert [e["loc"][0] for e in error.value.errors()] == [field]
    with pytest.raises(ValidationError, match="calm, tense, uplifting, dark, playful"):
        JobSpec.model_validate({"topic": "x", "music_mood": "sad"})
    assert JobSpec.model_validate({"topic": "x", "music": False}).compile_options().music is False
