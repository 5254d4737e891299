"""Narration stage: speak every scene sentence by sentence into one WAV with exact timings.

Synthesizing each sentence on its own is what gives subtitles and scene spans their exact
positions in the audio; no forced alignment is needed afterwards. It is also what lets the
narration be fitted to a requested length (see pipeline.fit) with every pause under control.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import wave
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sora_app.pipeline import fit, loudness, word_timing
from sora_app.pipeline.artefacts import ArtefactStore
from sora_app.pipeline.cue_text import (
    MAX_CUE_CHARS,
    MAX_CUE_WORDS,
    sentence_cues,
    split_cue_text,
    split_sentences,
)
from sora_app.pipeline.fit import SCENE_GAP, SENTENCE_GAP, TAIL
from sora_app.pipeline.speech import Speaker, speaker_for, trim, trim_start, word_starts
from sora_app.pipeline.speech_cache import cached_speaker
from sora_app.pipeline.types import (
    CancelCheck,
    Cancelled,
    Cue,
    Narration,
    ProgressFn,
    Script,
    StageError,
)
from sora_app.pipeline.voice_catalog import find_voice
from sora_app.pipeline.voices import Voice

__all__ = [
    "AUDIO_NAME", "MAX_CUE_CHARS", "MAX_CUE_WORDS", "SCENE_GAP", "SENTENCE_GAP", "TAIL",
    "Speaker", "narrate", "split_cue_text", "split_sentences",
]  # fmt: skip
"""Text helpers, gaps and Speaker now live in cue_text, fit and speech; importers of this
module keep working."""

log = logging.getLogger(__name__)

AUDIO_NAME = "narration.wav"
_SYNTH_SHARE = 0.95
"""Share of the stage's progress bar spent synthesizing; fitting and writing take the rest."""


@dataclass
class _Spoken:
    """One synthesized, trimmed sentence and the scene it belongs to."""

    scene: int
    text: str
    audio: np.ndarray
    starts: list[float] = field(default_factory=list)
    """Seconds into `audio` where each word of `text` begins."""


@dataclass
class _Timeline:
    """Accumulates audio pieces, cues and scene starts in the final audio's sample timeline."""

    rate: int
    samples: int = 0
    pieces: list[np.ndarray] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    scene_starts: list[int] = field(default_factory=list)

    def add_sentence(
        self, sentence: str, audio: np.ndarray, scene: int, starts: Sequence[float] = ()
    ) -> None:
        """Append one spoken sentence and its cues (word-timed when `starts` are known)."""
        start = self.samples / self.rate
        self._append(audio)
        if len(audio):
            words = [start + s for s in starts] or None
            end = self.samples / self.rate
            self.cues.extend(sentence_cues(sentence, start, end, scene, words))

    def add_silence(self, samples: int) -> None:
        self._append(np.zeros(max(0, samples), dtype=np.int16))

    def _append(self, audio: np.ndarray) -> None:
        self.pieces.append(audio.astype(np.int16, copy=False))
        self.samples += len(audio)

    def start_on_frame(self, frame_rate: int) -> int:
        """Pad or cut the pause just laid so the next scene starts on a video frame; the
        samples added (negative: removed). A scene then moves by whole frames when an earlier
        one changes length, so its video segment stays the same (pipeline.segments)."""
        per_frame = self.rate / frame_rate
        wanted = round(round(self.samples / per_frame) * per_frame)
        last = self.pieces[-1] if self.pieces else np.zeros(0, dtype=np.int16)
        if wanted < self.samples and (self.samples - wanted > len(last) or last.any()):
            wanted = round((round(self.samples / per_frame) + 1) * per_frame)  # not into speech
        change = wanted - self.samples
        if change > 0:
            self.add_silence(change)
        elif change < 0:
            self.pieces[-1] = last[:change]
            self.samples += change
        return change

    def scene_spans(self) -> list[tuple[float, float]]:
        """Contiguous spans: each scene runs until the next begins; the last ends at the end."""
        duration = self.samples / self.rate
        inner = [min(round(s / self.rate, 6), duration) for s in self.scene_starts[1:]]  # as cues
        bounds = [0.0, *inner, duration]
        return list(itertools.pairwise(bounds))


def _speak_all(
    plan: list[tuple[int, list[str]]],
    speak: Speaker,
    progress: ProgressFn,
    should_cancel: CancelCheck,
) -> tuple[list[_Spoken], int]:
    """Synthesize and trim every sentence; returns them with the engine's sample rate."""
    total = sum(len(sentences) for _, sentences in plan)
    spoken: list[_Spoken] = []
    rate = 0
    progress(0.0, f"Narrating scene 1 of {len(plan)}")
    for n, (scene_index, sentences) in enumerate(plan):
        for sentence in sentences:
            if should_cancel():
                raise Cancelled()
            said = speak(sentence)
            audio, got = said[0], said[1]
            if rate and got != rate:
                raise StageError("TTS_FAILED", f"Engine changed sample rate {rate} -> {got}")
            rate = got
            kept = trim(audio, got)
            starts = word_timing.shifted(
                word_starts(sentence, said), trim_start(audio, got) / got, 1.0, len(kept) / got
            )
            spoken.append(_Spoken(scene_index, sentence, kept, starts))
            progress(_SYNTH_SHARE * len(spoken) / total, f"Narrating scene {n + 1} of {len(plan)}")
    return spoken, rate


def _gap_samples(
    planned: fit.Fit,
    audios: Sequence[np.ndarray],
    scenes: list[int],
    rate: int,
    target: float | None,
) -> list[int]:
    """Pauses in samples; when the target is met, re-solved for the stretched speech so the
    total lands on the target's exact sample."""
    if target is None or not planned.met:
        return [round(g * rate) for g in planned.gaps]
    speech = sum(len(a) for a in audios)
    gaps = fit.refit_gaps(speech / rate, scenes, target, planned.gaps)
    samples = [round(g * rate) for g in gaps]
    exact = round(target * rate) - speech - sum(samples[:-1])
    if 0.1 * rate <= exact <= (fit.MAX_GAP + 0.1) * rate:  # the tail absorbs rounding
        samples[-1] = exact
    return samples


def _assemble(
    spoken: list[_Spoken],
    rate: int,
    scene_order: list[int],
    target: float | None,
    frame_rate: int | None = None,
    minimums: Mapping[int, float] | None = None,
) -> tuple[_Timeline, fit.Fit]:
    """Fit the sentences to the target, then lay them out with their pauses and cues.

    Without a target, a scene in `minimums` lasts at least that many seconds (silence after
    its words), so a creator can hold a picture longer than its narration.

    With `frame_rate`, every scene starts on a frame of that rate (the pause before it moves
    by less than a frame), and the closing pause gives back what that moved, so a fitted
    length stays exact.
    """
    planned = fit.plan([len(s.audio) / rate for s in spoken], [s.scene for s in spoken], target)
    minimums = minimums or {}
    kept = [spoken[i] for i in planned.keep]
    audios = fit.stretch([s.audio for s in kept], rate, planned.tempo)
    gaps = _gap_samples(planned, audios, [s.scene for s in kept], rate, target)
    timeline = _Timeline(rate)
    by_scene: dict[int, list[int]] = {}
    for k, s in enumerate(kept):
        by_scene.setdefault(s.scene, []).append(k)
    moved = 0
    for n, scene in enumerate(scene_order):
        if frame_rate and n > 0:
            moved += timeline.start_on_frame(frame_rate)
        timeline.scene_starts.append(timeline.samples)
        for k in by_scene.get(scene, []):
            length = len(audios[k]) / rate  # atempo keeps speech at its scaled position
            starts = word_timing.shifted(kept[k].starts, 0.0, planned.tempo, length)
            timeline.add_sentence(kept[k].text, audios[k], scene, starts)
            timeline.add_silence(gaps[k])
        short = round(minimums.get(scene, 0) * rate) - timeline.samples + timeline.scene_starts[-1]
        if target is None and short > 0:  # a scene asked to stay on screen longer
            timeline.add_silence(short)
    if moved and target is not None and planned.met:
        closing = timeline.pieces[-1]
        keep = max(0, len(closing) - moved)
        timeline.samples += keep - len(closing)
        timeline.pieces[-1] = np.zeros(keep, dtype=np.int16) if moved < 0 else closing[:keep]
    elif frame_rate and target is None:  # the last scene, too, lasts whole frames
        per_frame = timeline.rate / frame_rate
        timeline.add_silence(
            round(math.ceil(timeline.samples / per_frame) * per_frame) - timeline.samples
        )
    return timeline, planned


def _note(target: float | None, duration: float, scenes: int, dropped: int) -> str:
    """A line for the job's details when the request was not met, or met by cutting text."""
    if target is None:
        return ""
    if abs(duration - target) > fit.tolerance(target):
        if duration > target:
            fewer = " or fewer scenes" if scenes > 1 else ""
            return (
                f"Length: {duration:.1f} s, not the requested {target:g} s: read as fast as "
                f"sounds natural, with the shortest pauses, this script needs that long. "
                f"Ask for at least {math.ceil(duration):d} s{fewer}."
            )
        return (
            f"Length: {duration:.1f} s, not the requested {target:g} s: the script has too "
            "little text to fill it at a natural pace. Ask for a shorter video or a longer script."
        )
    if dropped:
        word = "sentence" if dropped == 1 else "sentences"
        return f"Length: left out {dropped} {word} of the script to fit {target:g} s."
    return ""


def narrate(
    script: Script,
    voice_id: str,
    out_dir: Path,
    progress: ProgressFn,
    should_cancel: CancelCheck = lambda: False,
    remote: Callable[[Voice], Speaker] | None = None,
    target_seconds: float | None = None,
    frame_rate: int | None = None,
    cache: ArtefactStore | None = None,
    voices_dir: Path | None = None,
) -> Narration:
    """Speak the script with one catalogue voice into out_dir/narration.wav, with cues.

    `remote` builds the speaker for voices of the "remote" engine (a hosted speech API).
    With `target_seconds`, pauses and tempo are fitted (see pipeline.fit) so the audio is
    that long; when it cannot be, Narration.note says why. With `frame_rate`, every scene
    starts on a frame of a video at that rate (see _Timeline.start_on_frame). With `cache`,
    sentences this voice spoke before are not spoken again (pipeline.speech_cache).
    `voices_dir` holds the dropped-in Piper voices (pipeline.voice_catalog).
    """
    try:
        voice = find_voice(voice_id, voices_dir)
    except KeyError:
        raise StageError("UNKNOWN_VOICE", f"Unknown voice {voice_id!r}") from None
    speak = speaker_for(voice, remote)
    if cache is not None and voice.engine != "remote":  # a hosted voice's sound follows the
        speak = cached_speaker(speak, voice, cache)  # upstream's settings, not its params
    plan = [(scene.index, split_sentences(scene.narration)) for scene in script.scenes]
    if not any(sentences for _, sentences in plan):
        raise StageError("EMPTY_NARRATION", "The script has no narration text to speak")
    began = time.perf_counter()
    spoken, rate = _speak_all(plan, speak, progress, should_cancel)
    order = [i for i, _ in plan]
    minimums = {scene.index: scene.seconds for scene in script.scenes if scene.seconds}
    timeline, planned = _assemble(spoken, rate, order, target_seconds, frame_rate, minimums)
    out_dir.mkdir(parents=True, exist_ok=True)
    audio_path = out_dir / AUDIO_NAME
    samples = _normalise(np.concatenate(timeline.pieces), timeline.rate)
    _write_wav(audio_path, samples, timeline.rate)
    duration = timeline.samples / timeline.rate
    note = _note(target_seconds, duration, len(plan), len(spoken) - len(planned.keep))
    progress(1.0, "Narration ready")
    log.info(
        "narration done voice=%s engine=%s scenes=%d sentences=%d kept=%d cues=%d "
        "duration=%.2f target=%s tempo=%.3f compute=%.2f",
        voice_id, voice.engine, len(plan), len(spoken), len(planned.keep), len(timeline.cues),
        duration, target_seconds, planned.tempo, time.perf_counter() - began,
    )  # fmt: skip
    return Narration(
        audio_path=audio_path,
        duration=duration,
        cues=timeline.cues,
        scene_spans=timeline.scene_spans(),
        voice_id=voice_id,
        requested=target_seconds,
        note=note,
        tempo=planned.tempo,
    )


def _normalise(samples: np.ndarray, rate: int) -> np.ndarray:
    """Bring the whole narration to the target loudness here, so compile needs no loudnorm."""
    began = time.perf_counter()
    level = samples.astype(np.float64) / 32768
    out = loudness.normalize(level, rate)
    log.info(
        "narration loudness normalised target=%.1f LUFS ceiling=%.1f dBTP ms=%d",
        loudness.TARGET_LUFS, loudness.PEAK_DBFS, (time.perf_counter() - began) * 1000,
    )  # fmt: skip
    return np.clip(np.round(out * 32768), -32768, 32767).astype(np.int16)


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono 16-bit PCM to a temp name then rename, so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2", copy=False).tobytes())
    tmp.replace(path)
