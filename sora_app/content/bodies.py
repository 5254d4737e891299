"""What clients send about scripts: their bodies, how to make one, how to render one."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..jobs.fields import one_of
from ..jobs.script_body import MAX_SCENES, SceneBody, ScriptBody, check_held
from ..jobs.spec import DURATION_MINUTES, SCRIPT_SOURCES, CharacterSpec
from ..pipeline.cue_text import split_sentences
from ..pipeline.script import HOOK_INTENSITIES, PACINGS, PLATFORMS, SHORT_FORM, STORY_TYPES

SCENE_WORDS = 45
"""Own text split into scenes of about this many words (whole sentences, ~15 s spoken)."""


class ScriptCreate(BaseModel):
    """POST /api/scripts: a script written from a topic, from the caller's own text, or given
    scene by scene (exactly one of `topic`, `text`, `scenes`)."""

    model_config = ConfigDict(extra="ignore", strict=True, str_strip_whitespace=True)

    topic: str | None = Field(default=None, min_length=1, max_length=200)
    text: str | None = Field(default=None, min_length=1, max_length=50_000)
    scenes: list[SceneBody] | None = Field(default=None, min_length=1, max_length=MAX_SCENES)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    story_type: Annotated[str, one_of(STORY_TYPES)] = "mystery"
    duration: float = Field(default=1.0, ge=DURATION_MINUTES[0], le=DURATION_MINUTES[1])
    num_scenes: int = Field(default=5, ge=1, le=MAX_SCENES)
    hook_intensity: Annotated[str, one_of(HOOK_INTENSITIES)] = "medium"
    pacing: Annotated[str, one_of(PACINGS)] = "moderate"
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    characters: list[CharacterSpec] = Field(default_factory=list, max_length=10)
    script_source: Annotated[str, one_of(SCRIPT_SOURCES)] = "auto"
    """auto: the configured script model (SORA_LLM_BASE_URL), else the offline writer."""
    platform: Annotated[str, one_of(PLATFORMS)] | None = None
    """Where it will be watched: tiktok, reels and shorts default to a high hook and a fast
    read (unless hook_intensity or pacing is sent); the script model is told too."""
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    """The narration's language (BCP 47); other than English needs the script model."""

    def story_style(self) -> tuple[str, str]:
        """(hook_intensity, pacing): as sent, else as the platform suits."""
        short = self.platform in SHORT_FORM
        hook = "high" if short and "hook_intensity" not in self.model_fields_set else None
        pacing = "fast" if short and "pacing" not in self.model_fields_set else None
        return hook or self.hook_intensity, pacing or self.pacing

    @model_validator(mode="after")
    def _one_source(self) -> ScriptCreate:
        given = [name for name in ("topic", "text", "scenes") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("send exactly one of topic (to write a script), text or scenes")
        if not self.topic and not self.title:
            raise ValueError("title is required with text or scenes")
        if self.text:
            self.scenes = _split(self.text)
        check_held(self.scenes)
        return self

    def own_body(self) -> ScriptBody:
        """The script from the caller's text or scenes (not for `topic`)."""
        return ScriptBody(title=self.title or "", story_type=self.story_type, scenes=self.scenes)


class ScriptPatch(BaseModel):
    """PATCH /api/scripts/<id>: a new version with these parts replaced.

    `scenes` is the whole new list (edit, reorder, add and remove in one go); `base_version`,
    when given, must be the newest version, or the edit is refused (409) instead of
    overwriting someone else's.
    """

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=200)
    story_type: Annotated[str, one_of(STORY_TYPES)] | None = None
    scenes: list[SceneBody] | None = Field(default=None, min_length=1, max_length=MAX_SCENES)
    base_version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _something(self) -> ScriptPatch:
        if self.title is None and self.story_type is None and self.scenes is None:
            raise ValueError("send at least one of title, story_type or scenes")
        check_held(self.scenes)
        return self

    def apply(self, body: ScriptBody) -> ScriptBody:
        changes: dict[str, Any] = {}
        for name in ("title", "story_type", "scenes"):
            if (value := getattr(self, name)) is not None:
                changes[name] = value
        return body.model_copy(update=changes)


def _split(text: str) -> list[SceneBody]:
    """Own text into scenes: blank-line paragraphs, long ones cut at sentence ends."""
    scenes: list[SceneBody] = []
    for paragraph in (p.strip() for p in text.replace("\r\n", "\n").split("\n\n")):
        words: list[str] = []
        for sentence in split_sentences(" ".join(paragraph.split())):
            if words and len(words) + len(sentence.split()) > SCENE_WORDS:
                scenes.append(SceneBody(narration=" ".join(words)))
                words = []
            words += sentence.split()
        if words:
            scenes.append(SceneBody(narration=" ".join(words)))
    if not scenes:
        raise ValueError("text has no words to narrate")
    if len(scenes) > MAX_SCENES:
        raise ValueError(f"text makes {len(scenes)} scenes; at most {MAX_SCENES} fit a script")
    return scenes
