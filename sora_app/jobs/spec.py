"""The validated job request: one pydantic model shared by the API and the runner."""

from __future__ import annotations

import contextlib
import os
import random
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..pipeline.images import ASPECTS, IMAGE_STYLES
from ..pipeline.music import MOOD_NAMES, VOLUME_DB, default_mood
from ..pipeline.script import HOOK_INTENSITIES, PACINGS, STORY_TYPES
from ..pipeline.sora import SIZES as VIDEO_SIZES
from ..pipeline.types import Character, CompileOptions, ImageSpec, StoryRequest
from ..pipeline.voice_catalog import FOLDER_VOICE_ID
from ..pipeline.voices import DEFAULT_VOICE_ID, VOICES
from ..safe_paths import safe_file, safe_id
from .fields import Keyword, NumberText, UploadName, number_from_text, one_of
from .script_body import ScriptBody, ScriptRef

IMAGE_MODES: tuple[str, ...] = ("ai_only", "stock_only", "manual_only", "mixed")
ENGINES: tuple[str, ...] = ("local", "sora")
"""local: our pipeline; sora: rendered whole by the external OpenAI-Videos-compatible API."""
EXTERNAL_SECONDS: tuple[int, ...] = (4, 8, 12)
"""Lengths every OpenAI-Videos-compatible API accepts (send `seconds` for others)."""
SCRIPT_SOURCES: tuple[str, ...] = ("auto", "offline", "remote")
"""auto: the configured script model if any, else the offline writer."""
UPLOAD_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
AUDIO_SUFFIXES = frozenset({".m4a"})
"""Uploaded sounds are stored transcoded to AAC (content.sounds), whatever was sent."""
MEDIA_ID = re.compile(r"[0-9a-f]{32}")
"""A media library id (also the stem of its file in the owner's uploads folder)."""
MIN_SECONDS_PER_SCENE = 2.0
"""Shorter scenes cannot hold a spoken sentence and a crossfade."""
DURATION_MINUTES = (0.1, 10.0)
"""Documented range of `duration` (minutes) on contract 1."""


def max_scenes(duration_minutes: float) -> int:
    """How many scenes a video of this length holds (at least one)."""
    return max(1, int(duration_minutes * 60 // MIN_SECONDS_PER_SCENE))


def _voice_id(value: str) -> str:
    """Built-in ids by name; dropped-in ones by shape, since only the app knows its folder."""
    if value in VOICES or FOLDER_VOICE_ID.fullmatch(value):
        return value
    raise ValueError(
        f"must be one of: {', '.join(VOICES)} (or a piper_<name> voice GET /api/voices lists)"
    )


class CharacterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=40)
    description: str = Field(default="", max_length=300)


class JobSpec(BaseModel):
    """Contract 1's request body; unknown keys are ignored, known ones are strict."""

    model_config = ConfigDict(extra="ignore", strict=True, str_strip_whitespace=True)

    topic: str = Field(min_length=1, max_length=200)
    story_type: Annotated[str, one_of(STORY_TYPES)] = "mystery"
    image_style: Annotated[str, one_of(IMAGE_STYLES)] = "cinematic"
    image_mode: Annotated[str, one_of(IMAGE_MODES)] = "ai_only"
    voice_id: Annotated[str, AfterValidator(_voice_id)] = DEFAULT_VOICE_ID
    """A built-in id, or the shape of a dropped-in one (piper_<name>): whether that voice is
    in this server's voices folder is the job service's check (jobs.admission.check_voice)."""
    duration: Annotated[float, NumberText] = Field(
        default=1.0, ge=DURATION_MINUTES[0], le=DURATION_MINUTES[1]
    )
    hook_intensity: Annotated[str, one_of(HOOK_INTENSITIES)] = "medium"
    pacing: Annotated[str, one_of(PACINGS)] = "moderate"
    num_scenes: Annotated[int, NumberText] = Field(default=5, ge=1, le=50)
    characters: list[CharacterSpec] = Field(default_factory=list, max_length=10)
    manual_image_paths: list[UploadName] = Field(
        default_factory=list, max_length=50, validate_default=True
    )
    stock_keywords: list[Keyword] = Field(default_factory=list, max_length=20)
    aspect_ratio: Annotated[str, one_of(list(ASPECTS), normalise=False)] = "9:16"
    size: Annotated[str, one_of(VIDEO_SIZES, normalise=False)] | None = None
    """Exact output size, one of the Videos API's (e.g. 720x1280); unset: the aspect
    ratio's 1080p size. Local renders and external ones alike."""
    music: bool = True
    music_mood: Annotated[str, one_of(MOOD_NAMES)] | None = None
    """A generated bed; unset: the story type's (pipeline.music.STORY_MOODS)."""
    music_volume: Annotated[float, NumberText] = Field(
        default=0.0, ge=VOLUME_DB[0], le=VOLUME_DB[1]
    )
    music_track: UploadName | None = None
    """A sound of the caller's media library (id or name) as the bed instead of a generated
    one: looped or trimmed to the video, brought to the bed's loudness, ducked likewise."""
    """dB relative to the default bed level."""
    subtitles: bool = True
    word_captions: bool | None = None
    """Highlight each word as it is spoken; unset: on for 9:16 only (ignored without subtitles)."""
    seed: Annotated[int, NumberText] | None = Field(default=None, ge=0, le=2**31 - 1)
    engine: Annotated[str, one_of(ENGINES)] = "local"
    script_source: Annotated[str, one_of(SCRIPT_SOURCES)] = "auto"
    prompt: str | None = Field(default=None, min_length=1, max_length=32000)
    """External renders: the full prompt (defaults to the topic plus style and characters)."""
    model: str | None = Field(default=None, min_length=1, max_length=64)
    """External renders: the upstream model (defaults to SORA_VIDEO_API_MODEL)."""
    seconds: Annotated[int, NumberText] | None = Field(default=None, ge=1, le=600)
    """Exact length in seconds (defaults to duration x 60); a `script` is fitted to it only
    when it is given (else a script lasts as long as its words take)."""
    script: ScriptBody | None = None
    """Render this script as written (scenes spoken and painted as given, natural length)
    instead of writing one from the topic; POST /api/scripts/<id>/render fills it."""
    script_ref: ScriptRef | None = None
    """Which stored script version `script` is ({"id", "version"}), for the library."""
    remix_of: str | None = Field(default=None, min_length=1, max_length=128)
    """External renders: the upstream id of one of the caller's external videos to remix
    (POST /v1/videos/{id}/remix of such a video); checked by jobs.admission."""
    webhook_url: str | None = Field(
        default=None, min_length=1, max_length=2048,
        validation_alias=AliasChoices("webhook_url", "callback_url"),
    )  # fmt: skip
    """Where the signed video.completed / video.failed event goes (alias callback_url);
    unset: the owner's default (PUT /api/auth/webhook). SSRF-checked by jobs.admission."""

    def named_media(self) -> list[tuple[str, str, frozenset[str]]]:
        """Every uploaded file the job names: (field, name or media id, allowed suffixes)."""
        named = [
            (f"manual_image_paths[{i}]", name, UPLOAD_SUFFIXES)
            for i, name in enumerate(self.manual_image_paths)
        ]
        scenes = self.script.scenes if self.script is not None else []
        named += [
            (f"script.scenes[{i}].media", scene.media, UPLOAD_SUFFIXES)
            for i, scene in enumerate(scenes)
            if scene.media
        ]
        if self.music_track:
            named.append(("music_track", self.music_track, AUDIO_SUFFIXES))
        return named

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        """Clients send null for 'not set'; treat it as the default (topic stays required).

        An unset num_scenes fits the duration (5, or fewer for very short videos).
        """
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if v is not None or k == "topic"}
        duration = None
        with contextlib.suppress(ValueError):  # the field's own check says what is wrong
            duration = number_from_text(data.get("duration", 1.0))
        if "num_scenes" not in data and isinstance(duration, int | float) and 0 < duration < 1e6:
            data["num_scenes"] = min(5, max_scenes(duration))
        return data

    @field_validator("num_scenes")
    @classmethod
    def _scenes_fit_duration(cls, value: int, info: ValidationInfo) -> int:
        duration = info.data.get("duration")
        if duration is None:
            return value
        most = max_scenes(duration)
        if value > most:
            raise ValueError(
                f"{value} scenes do not fit in {duration:g} minutes; use at most {most} "
                "or a longer duration"
            )
        return value

    @field_validator("manual_image_paths")
    @classmethod
    def _manual_mode_has_images(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("image_mode") == "manual_only" and not value:
            raise ValueError("image_mode manual_only needs at least one uploaded image")
        return value

    def with_seed(self) -> JobSpec:
        """Fix the seed at submission so a resumed job renders the same story."""
        if self.seed is not None:
            return self
        return self.model_copy(update={"seed": random.SystemRandom().randrange(2**31)})

    def story_request(self) -> StoryRequest:
        return StoryRequest(
            topic=self.topic,
            story_type=self.story_type,
            hook_intensity=self.hook_intensity,
            pacing=self.pacing,
            duration_minutes=self.duration,
            num_scenes=self.num_scenes,
            characters=tuple(Character(c.name, c.description) for c in self.characters),
            seed=self.seed or 0,
        )

    def external_prompt(self) -> str:
        """What the external video model is asked for, when no explicit prompt was sent."""
        if self.prompt:
            return self.prompt
        parts = [self.topic.rstrip(".") + ".", f"A {self.story_type.replace('_', ' ')} story"]
        parts.append(f"in a {self.image_style} visual style, {self.pacing} pacing.")
        if self.characters:
            cast = "; ".join(f"{c.name}: {c.description}" if c.description else c.name
                             for c in self.characters)  # fmt: skip
            parts.append(f"Characters: {cast}.")
        return " ".join(parts)

    def external_seconds(self) -> int:
        """Explicit seconds as given; from `duration`, the nearest length the API offers."""
        if self.seconds:
            return self.seconds
        wanted = self.duration * 60
        return min(EXTERNAL_SECONDS, key=lambda s: abs(s - wanted))

    def dimensions(self) -> tuple[int, int]:
        return dimensions_of(self.size, self.aspect_ratio)

    def image_spec(self) -> ImageSpec:
        width, height = self.dimensions()
        return ImageSpec(
            style=self.image_style,
            width=width,
            height=height,
            seed=self.seed or 0,
            characters=self.story_request().characters,
        )

    def compile_options(self) -> CompileOptions:
        width, height = self.dimensions()
        return CompileOptions(
            width=width,
            height=height,
            pacing=self.pacing,
            music=self.music,
            music_mood=self.music_mood or default_mood(self.story_type),
            music_volume=self.music_volume,
            subtitles=self.subtitles,
            seed=self.seed or 0,
            word_captions=self.word_captions,
        )


def dimensions_of(size: str | None, aspect_ratio: str | None) -> tuple[int, int]:
    """Width and height of a video: its `size` when given, else its aspect's 1080p size."""
    if size and size in VIDEO_SIZES:
        width, _, height = size.partition("x")
        return int(width), int(height)
    return ASPECTS.get(aspect_ratio or "", ASPECTS["9:16"])


def user_uploads_dir(uploads_root: Path, owner_id: str) -> Path:
    """Each user's uploads live in their own folder; nobody can name another's files.

    The owner id becomes a path component, so anything but a plain identifier (a forged
    token `sub` such as `../../etc`) raises ValueError instead of escaping uploads_root.
    """
    return Path(uploads_root) / safe_id(owner_id)


def resolve_upload(
    name: str, uploads_dir: Path, suffixes: frozenset[str] = UPLOAD_SUFFIXES
) -> Path:
    """Map a client-given upload name or media id to a file inside uploads_dir, or raise
    ValueError.

    Only plain names of regular files are accepted: no paths and no symlinks (even ones that
    point inside the folder), so no input can make the server read an arbitrary file. A media
    id (the library's) names the file `<id><suffix>` of one of `suffixes`.
    """
    if MEDIA_ID.fullmatch(name):
        for suffix in sorted(suffixes):
            found = safe_file(uploads_dir, f"{name}{suffix}")
            if found is not None:
                return found
        raise ValueError(f"no media with id {name!r} of this kind")
    if "\x00" in name or "\\" in name:
        raise ValueError("must be a plain file name inside the uploads folder")
    relative = PurePosixPath(name.removeprefix("/uploads/").removeprefix("uploads/"))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError("must be a file name inside the uploads folder, not a path")
    if relative.suffix.lower() not in suffixes:
        raise ValueError(f"must be one of: {', '.join(sorted(suffixes))}")
    found = safe_file(uploads_dir, relative.as_posix())
    if found is not None:
        return found
    if os.path.lexists(Path(uploads_dir) / relative):
        raise ValueError("must be a plain file inside the uploads folder (links are not followed)")
    raise ValueError(f"no uploaded file named {relative.as_posix()!r}")
