"""Narration stage: speak every scene sentence by sentence into one WAV with exact timings.

Synthesizing each sentence on its own is what gives subtitles and scene spans their exact
positions in the audio; no forced alignment is needed afterwards.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sora_app.pipeline import loudness
from sora_app.pipeline.types import (
    CancelCheck,
    Cancelled,
    Cue,
    Narration,
    ProgressFn,
    Script,
    StageError,
)
from sora_app.pipeline.voices import Voice, get_voice
from sora_app.providers import espeak, piper_tts

log = logging.getLogger(__name__)

SENTENCE_GAP = 0.2
"""Seconds of silence between sentences of one scene."""
SCENE_GAP = 0.45
"""Seconds of silence after a scene's last sentence (counted in that scene's span)."""
TAIL = 0.3
"""Seconds of silence after the last sentence, so the video does not end on a cut-off word."""
MAX_CUE_WORDS = 7
MAX_CUE_CHARS = 40
AUDIO_NAME = "narration.wav"

_TRIM_LEVEL = 330  # ~1 % of full scale: below this an engine's lead-in/out is just silence
_TRIM_KEEP = 0.04  # seconds kept either side of speech, so soft onsets survive trimming
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st prof sr jr mt vs etc e.g i.e fig approx dept gen col lt sgt capt".split()  # noqa: SIM905
)
_WEAK_ENDINGS = frozenset(
    "a an the of to in on at by for and or but with from as that his her its their my your".split()  # noqa: SIM905
)
_SENTENCE_RE = re.compile(r"\S.*?(?:[.!?…]+[\"”’')\]]*(?=\s|$)|$)", re.S)

Speaker = Callable[[str], tuple[np.ndarray, int]]


def split_sentences(text: str) -> list[str]:
    """Split narration into sentences, keeping abbreviations and decimals inside one."""
    text = " ".join(text.split())
    out: list[str] = []
    for match in _SENTENCE_RE.finditer(text):
        piece = match.group(0).strip()
        if not piece:
            continue
        if out and (_ends_with_abbreviation(out[-1]) or _continues(piece)):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return [s for s in out if any(c.isalnum() for c in s)]


def _continues(piece: str) -> bool:
    """True for a fragment that cannot start a sentence: '... she said.' or bare punctuation."""
    first = next((c for c in piece if c.isalnum()), "")
    return not first or first.islower()


def _ends_with_abbreviation(sentence: str) -> bool:
    """True when a full stop belongs to 'Dr.' or an initial like 'J.', not a sentence end."""
    if not sentence.endswith("."):
        return False
    last = sentence.split()[-1].rstrip(".").lower()
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def _fits(words: list[str], max_words: int, max_chars: int) -> bool:
    """A cue fits on screen when it is short in words and characters (or is a single word)."""
    return len(words) == 1 or (len(words) <= max_words and len(" ".join(words)) <= max_chars)


def _break_cost(last_word: str, target: float) -> float:
    """Reward a break after punctuation, penalise one that strands 'the' or 'of' at a line end."""
    if last_word[-1] in ",;:—–-":
        return -(target**2) / 8
    return target**2 / 8 if last_word.lower() in _WEAK_ENDINGS else 0.0


def split_cue_text(
    sentence: str, max_words: int = MAX_CUE_WORDS, max_chars: int = MAX_CUE_CHARS
) -> list[str]:
    """Break a long sentence into balanced subtitle chunks, preferring breaks at punctuation."""
    words = sentence.split()
    if _fits(words, max_words, max_chars):
        return [" ".join(words)]
    total = len(" ".join(words))
    target = total / max(math.ceil(len(words) / max_words), math.ceil(total / max_chars))
    # best[i] = (cost, start of last chunk) for the best split of words[:i]
    best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * len(words)
    for end in range(1, len(words) + 1):
        for start in range(end - 1, -1, -1):
            chunk = words[start:end]
            if not _fits(chunk, max_words, max_chars):
                break
            cost = best[start][0] + (len(" ".join(chunk)) - target) ** 2 + target**2 / 4
            if end < len(words):
                cost += _break_cost(chunk[-1], target)
            if cost < best[end][0]:
                best[end] = (cost, start)
    chunks: list[str] = []
    end = len(words)
    while end > 0:
        start = best[end][1]
        chunks.append(" ".join(words[start:end]))
        end = start
    return chunks[::-1]


def _sentence_cues(sentence: str, start: float, end: float, scene: int) -> list[Cue]:
    """Cues for one sentence, dividing its spoken time by each chunk's character count."""
    chunks = split_cue_text(sentence)
    total = sum(len(c) for c in chunks)
    cues: list[Cue] = []
    acc = 0
    for chunk in chunks:
        a = start + (end - start) * acc / total
        acc += len(chunk)
        b = start + (end - start) * acc / total
        cues.append(Cue(start=round(a, 3), end=round(b, 3), text=chunk, scene=scene))
    return cues


def _trim(audio: np.ndarray, rate: int) -> np.ndarray:
    """Cut engine lead-in/out silence so the gaps between sentences are the ones we choose."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > _TRIM_LEVEL)
    if loud.size == 0:
        return audio
    keep = int(_TRIM_KEEP * rate)
    return audio[max(0, loud[0] - keep) : min(len(audio), loud[-1] + keep + 1)]


def _speaker(voice: Voice, remote: Callable[[Voice], Speaker] | None = None) -> Speaker:
    """Bind a catalogue voice's params to its engine's synthesize function."""
    p = dict(voice.params)
    if voice.engine == "remote":
        if remote is None:
            raise StageError(
                "TTS_NOT_CONFIGURED",
                f"Voice {voice.id!r} needs a speech API: set SORA_TTS_BASE_URL (and its key).",
            )
        return remote(voice)
    if voice.engine == "espeak":
        return lambda text: espeak.synthesize(
            text,
            voice=p.get("voice", "en-us"),
            rate=p.get("rate", 175),
            pitch=p.get("pitch", 50),
            pitch_range=p.get("range", 50),
        )
    if voice.engine == "piper":
        return lambda text: piper_tts.synthesize(
            text,
            length_scale=p.get("length_scale", 1.0),
            model_path=p.get("model_path"),
            config_path=p.get("config_path"),
            noise_scale=p.get("noise_scale"),
            noise_w_scale=p.get("noise_w_scale"),
        )
    raise StageError("UNKNOWN_VOICE", f"Voice {voice.id!r} uses an unknown engine {voice.engine!r}")


@dataclass
class _Timeline:
    """Accumulates audio pieces, cues and scene starts in the final audio's sample timeline."""

    rate: int = 0
    samples: int = 0
    pieces: list[np.ndarray] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    scene_starts: list[int] = field(default_factory=list)

    def add_sentence(self, sentence: str, audio: np.ndarray, rate: int, scene: int) -> None:
        """Append one spoken sentence and its cues."""
        if self.rate and rate != self.rate:
            raise StageError("TTS_FAILED", f"Engine changed sample rate {self.rate} -> {rate}")
        self.rate = rate
        audio = _trim(audio, rate)
        start = self.samples / rate
        self._append(audio)
        if len(audio):
            self.cues.extend(_sentence_cues(sentence, start, self.samples / rate, scene))

    def add_silence(self, seconds: float) -> None:
        """Append a pause; needs a sentence first so the sample rate is known."""
        if self.rate:
            self._append(np.zeros(round(seconds * self.rate), dtype=np.int16))

    def _append(self, audio: np.ndarray) -> None:
        self.pieces.append(audio.astype(np.int16, copy=False))
        self.samples += len(audio)

    def scene_spans(self) -> list[tuple[float, float]]:
        """Contiguous spans: each scene runs until the next begins; the last ends at the end."""
        duration = self.samples / self.rate
        inner = [min(round(s / self.rate, 3), duration) for s in self.scene_starts[1:]]
        bounds = [0.0, *inner, duration]
        return list(itertools.pairwise(bounds))


def _gap_after(last_in_scene: bool, last_scene: bool) -> float:
    """Pause after a sentence: short inside a scene, longer at a scene change, a tail at the end."""
    if not last_in_scene:
        return SENTENCE_GAP
    return TAIL if last_scene else SCENE_GAP


def narrate(
    script: Script,
    voice_id: str,
    out_dir: Path,
    progress: ProgressFn,
    should_cancel: CancelCheck = lambda: False,
    remote: Callable[[Voice], Speaker] | None = None,
) -> Narration:
    """Speak the script with one catalogue voice into out_dir/narration.wav, with cues.

    `remote` builds the speaker for voices of the "remote" engine (a hosted speech API).
    """
    try:
        voice = get_voice(voice_id)
    except KeyError:
        raise StageError("UNKNOWN_VOICE", f"Unknown voice {voice_id!r}") from None
    speak = _speaker(voice, remote)
    plan = [(scene.index, split_sentences(scene.narration)) for scene in script.scenes]
    total = sum(len(sentences) for _, sentences in plan)
    if total == 0:
        raise StageError("EMPTY_NARRATION", "The script has no narration text to speak")
    began = time.perf_counter()
    timeline = _Timeline()
    done = 0
    progress(0.0, f"Narrating scene 1 of {len(plan)}")
    for n, (scene_index, sentences) in enumerate(plan):
        timeline.scene_starts.append(timeline.samples)
        for k, sentence in enumerate(sentences):
            if should_cancel():
                raise Cancelled()
            audio, rate = speak(sentence)
            timeline.add_sentence(sentence, audio, rate, scene_index)
            timeline.add_silence(_gap_after(k == len(sentences) - 1, n == len(plan) - 1))
            done += 1
            progress(done / total, f"Narrating scene {n + 1} of {len(plan)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    audio_path = out_dir / AUDIO_NAME
    samples = _normalise(np.concatenate(timeline.pieces), timeline.rate)
    _write_wav(audio_path, samples, timeline.rate)
    duration = timeline.samples / timeline.rate
    log.info(
        "narration done voice=%s engine=%s scenes=%d sentences=%d cues=%d duration=%.2f "
        "compute=%.2f",
        voice_id, voice.engine, len(plan), total, len(timeline.cues), duration,
        time.perf_counter() - began,
    )  # fmt: skip
    return Narration(
        audio_path=audio_path,
        duration=duration,
        cues=timeline.cues,
        scene_spans=timeline.scene_spans(),
        voice_id=voice_id,
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
