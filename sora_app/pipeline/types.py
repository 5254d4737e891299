"""Plain data passed between pipeline stages, so stages stay Flask-free and resumable.

Every stage writes its result into the job's work dir (JSON next to the media), which is
what lets a re-queued job resume from its last finished stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ProgressFn = Callable[[float, str], None]
"""Reports (fraction of the current stage in [0, 1], human substatus line)."""

CancelCheck = Callable[[], bool]
"""Returns True when the job has been cancelled and the stage should stop."""


class Cancelled(Exception):
    """Raised by a stage that noticed its job was cancelled."""


class StageError(Exception):
    """A stage failed for a reason a user can act on; `code` is a stable machine code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Character:
    name: str
    description: str = ""


@dataclass(frozen=True)
class StoryRequest:
    """What the script writer needs from a job request."""

    topic: str
    story_type: str = "mystery"
    hook_intensity: str = "medium"
    pacing: str = "moderate"
    duration_minutes: float = 1.0
    num_scenes: int = 5
    characters: tuple[Character, ...] = ()
    seed: int = 0
    words_per_minute: float | None = None
    """The narrating voice's measured speech rate (pauses excluded); None: writer default."""
    platform: str = ""
    """Where the video will be watched (tiktok, reels, shorts, youtube); "": anywhere."""
    language: str = "en"
    """The narration's language (BCP 47, e.g. "de", "pt-BR"); the offline writer: English."""


@dataclass
class Scene:
    index: int
    """0-based position in the video."""
    narration: str
    """The words spoken over this scene (one or more full sentences)."""
    caption: str
    """A short title (a few words) that the image renderer may draw."""
    keywords: list[str] = field(default_factory=list)
    """Concrete nouns for motifs, stock search and image prompts."""
    characters: list[str] = field(default_factory=list)
    """Names of the request's characters present in this scene."""
    mood: str = "neutral"
    """One word the renderer can grade by, e.g. dread, calm, hope, tension, triumph."""
    visual: str = ""
    """What the picture should show, in a creator's words (image prompts; painter motifs)."""
    variant: int = 0
    """Another take of the same picture: a creator's "regenerate this image" bumps it."""
    seconds: float | None = None
    """At least this long on screen (a pause after its words); None: as long as they take."""


@dataclass
class Script:
    title: str
    story_type: str
    scenes: list[Scene]
    hook: str = ""
    """The opening line (also the first sentence of scene 0's narration)."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Script:
        scenes = [Scene(**s) for s in data["scenes"]]
        return cls(
            title=data["title"],
            story_type=data["story_type"],
            scenes=scenes,
            hook=data.get("hook", ""),
        )

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> Script:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class ImageSpec:
    """How scene images should look; width/height are the output video's."""

    style: str = "cinematic"
    width: int = 1080
    height: int = 1920
    seed: int = 0
    characters: tuple[Character, ...] = ()
    """The request's cast, so the painter can dress each figure as its description says."""


@dataclass(frozen=True)
class Word:
    """One word of a cue as shown, and when it is spoken (until the next word starts)."""

    text: str
    start: float
    end: float


@dataclass
class Cue:
    """One subtitle line: a sentence (or part of one) and when it is spoken."""

    start: float
    end: float
    text: str
    scene: int
    words: list[Word] = field(default_factory=list)
    """The cue's words with their timings, for word-timed captions; [] when unknown (e.g.
    narration saved before words were timed), which renders the plain line."""

    @classmethod
    def from_dict(cls, data: dict) -> Cue:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            text=data["text"],
            scene=int(data["scene"]),
            words=[
                Word(w["text"], float(w["start"]), float(w["end"])) for w in data.get("words", ())
            ],
        )


@dataclass
class Narration:
    audio_path: Path
    """Mono WAV of the whole narration."""
    duration: float
    """Seconds of audio; the video is exactly this long."""
    cues: list[Cue]
    scene_spans: list[tuple[float, float]]
    """(start, end) seconds of each scene's narration; contiguous, covering [0, duration]."""
    voice_id: str = ""
    requested: float | None = None
    """Seconds the request asked for; None for the script's natural length."""
    note: str = ""
    """Why the length differs from `requested`, or what was cut to meet it ("" otherwise)."""
    tempo: float = 1.0
    """Speed factor applied to the speech to fit `requested` (1.0: as the engine spoke it)."""

    def to_dict(self) -> dict:
        data = asdict(self)
        data["audio_path"] = str(self.audio_path)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Narration:
        return cls(
            audio_path=Path(data["audio_path"]),
            duration=float(data["duration"]),
            cues=[Cue.from_dict(c) for c in data["cues"]],
            scene_spans=[(float(a), float(b)) for a, b in data["scene_spans"]],
            voice_id=data.get("voice_id", ""),
            requested=data.get("requested"),
            note=data.get("note", ""),
            tempo=float(data.get("tempo", 1.0)),
        )

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> Narration:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class CompileOptions:
    width: int = 1080
    height: int = 1920
    fps: int = 30
    pacing: str = "moderate"
    """slow | moderate | dynamic | fast: motion speed and crossfade length."""
    music: bool = True
    """Mix a music bed under the narration (ducked while someone speaks)."""
    music_mood: str = "calm"
    """Which generated bed (pipeline.music.MOODS); unknown names play the default."""
    music_volume: float = 0.0
    """dB relative to the default bed level (-24 to +6; pipeline.music.VOLUME_DB)."""
    music_path: str | None = None
    """An audio file (WAV/MP3/M4A/OGG/FLAC) to play instead of a generated bed: looped when
    shorter than the video, trimmed when longer, brought to the beds' loudness."""
    subtitles: bool = True
    seed: int = 0
    word_captions: bool | None = None
    """Highlight each word as it is spoken; None: on for portrait (9:16) output only, where
    short-video viewers expect it. Nothing is drawn at all when `subtitles` is off."""


@dataclass
class VideoInfo:
    path: Path
    duration: float
    width: int
    height: int
    size_bytes: int
    thumbnail: Path | None = None


def write_json_atomic(path: Path, data: dict) -> None:
    """Write then rename, so a crash never leaves a half-written stage result (or manifest)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)
