"""A script as a job renders it: the scenes a creator wrote or edited, spoken and painted as
given (jobs.stages skips writing when a job carries one)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..pipeline.script import STORY_TYPES
from ..pipeline.types import Scene
from ..pipeline.types import Script as PipelineScript
from .fields import Keyword, UploadName, one_of

MAX_SCENES = 50
MAX_HELD_SECONDS = 600.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class SceneBody(_Strict):
    """One scene as a creator edits it."""

    narration: str = Field(min_length=1, max_length=2000)
    caption: str = Field(default="", max_length=80)
    """A few words the painter may set as the scene's title."""
    keywords: list[Keyword] = Field(default_factory=list, max_length=12)
    """What the scene shows: motifs for the painter, words for stock and image searches."""
    mood: str = Field(default="neutral", min_length=1, max_length=20)
    characters: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=10
    )
    media: UploadName | None = None
    """A picture from the caller's media library (its id or name) shown instead of a
    painted or fetched one."""
    visual: str = Field(default="", max_length=1000)
    """What the picture should show (the image model's prompt; motifs for the painter)."""
    image_variant: int = Field(default=0, ge=0, le=1_000_000)
    """Bump to get another take of this scene's picture ("regenerate"), others untouched."""
    duration: float | None = Field(default=None, ge=1.0, le=120.0)
    """Seconds on screen at least (a pause after the words); unset: as long as they take."""


def check_held(scenes: list[SceneBody] | None) -> None:
    """Scenes held on screen may not add up to more than the longest video (10 min)."""
    held = sum(scene.duration or 0 for scene in scenes or [])
    if held > MAX_HELD_SECONDS:
        raise ValueError(
            f"the scenes' durations add up to {held:g} s; at most {MAX_HELD_SECONDS:g} s"
        )


class ScriptBody(_Strict):
    """A whole script: what a version holds and what a render speaks and paints."""

    title: str = Field(min_length=1, max_length=200)
    story_type: Annotated[str, one_of(STORY_TYPES)] = "mystery"
    scenes: list[SceneBody] = Field(min_length=1, max_length=MAX_SCENES)

    @model_validator(mode="after")
    def _held_scenes_fit(self) -> ScriptBody:
        check_held(self.scenes)
        return self

    def to_pipeline(self) -> PipelineScript:
        scenes = [
            Scene(index=i, narration=s.narration, caption=s.caption, keywords=list(s.keywords),
                  characters=list(s.characters), mood=s.mood, visual=s.visual,
                  variant=s.image_variant, seconds=s.duration)
            for i, s in enumerate(self.scenes)
        ]  # fmt: skip
        return PipelineScript(title=self.title, story_type=self.story_type, scenes=scenes)

    @classmethod
    def from_pipeline(cls, script: PipelineScript) -> ScriptBody:
        scenes = [
            SceneBody(narration=s.narration, caption=s.caption[:80], keywords=s.keywords[:12],
                      mood=s.mood[:20] or "neutral", characters=s.characters[:10],
                      visual=s.visual[:1000], duration=s.seconds)
            for s in script.scenes
        ]  # fmt: skip
        return cls(title=script.title[:200], story_type=script.story_type, scenes=scenes)


class ScriptRef(_Strict):
    """The stored script version a job renders (content.tables), for the caller's library."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    version: int = Field(ge=1)
