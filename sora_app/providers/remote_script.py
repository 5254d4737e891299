"""Remote script writer: an OpenAI-compatible chat model asked for the scenes as one JSON object.

The reply is validated with pydantic and, if unusable, repaired once by telling the model what
was wrong; the offline writer stands in only when the caller configured a fallback.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sora_app.pipeline.narration import split_sentences
from sora_app.pipeline.script import WORDS_PER_MINUTE, write_script
from sora_app.pipeline.story_text import clean, title_case
from sora_app.pipeline.types import Character, Scene, Script, StageError, StoryRequest
from sora_app.providers.http import UpstreamClient, UpstreamError

log = logging.getLogger(__name__)

MAX_ECHO_CHARS = 4000
"""How much of a bad reply is sent back with the repair request (keeps the retry cheap)."""
MAX_CAPTION_WORDS = 8
MAX_KEYWORDS = 8

SYSTEM_PROMPT = (
    "You write scripts for narrated short videos. "
    "You always answer with a single JSON object and nothing else."
)
GENRE_BRIEFS: dict[str, str] = {
    "scary_horror": "a scary horror story: creeping dread, eerie details, an unsettling end",
    "mystery": "a mystery: clues, a puzzle and a satisfying reveal",
    "true_crime": "a true-crime style account: sober tone, a clear timeline, investigators",
    "fantasy": "a fantasy tale: magic, a quest and a sense of wonder",
    "sci_fi": "a science-fiction story: technology, the future and one big idea",
    "motivational": "a motivational story: struggle, persistence and an uplifting lesson",
    "educational": "an educational explainer: clear facts, vivid examples, one takeaway",
    "comedy": "a comedy: a light tone, escalating absurdity and a punchline",
    "adventure": "an adventure: a journey, danger and daring choices",
    "romance": "a romance: longing, connection and an emotional payoff",
    "history": "a history story: real period detail, high stakes and why it mattered",
}
HOOK_BRIEFS: dict[str, str] = {
    "low": "a gentle, intriguing opening line",
    "medium": "an opening line that raises a clear question",
    "high": "a gripping opening line that demands attention",
    "extreme": "a shocking, impossible-to-ignore opening line",
}
PACING_BRIEFS: dict[str, str] = {
    "slow": "slow and atmospheric, with long flowing sentences",
    "moderate": "steady, with a mix of sentence lengths",
    "dynamic": "a varied rhythm with punchy moments",
    "fast": "fast, with short punchy sentences",
}
_SHAPE = (
    '{"title": "...", "hook": "...", "scenes": [{"narration": "...", "caption": "...", '
    '"keywords": ["..."], "characters": ["..."], "mood": "..."}]}'
)


class ScriptReplyError(ValueError):
    """The model's reply cannot become a Script; the message is what the repair prompt quotes."""


def _as_list(value: Any) -> Any:
    """Models often send "a, b" instead of ["a", "b"]; accept both, reject other shapes."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if isinstance(v, (str, int, float)) and str(v)]
    return value


class SceneReply(BaseModel):
    """One scene as the model must send it; lenient on shapes, strict on narration."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    narration: str = Field(min_length=1)
    caption: str | None = ""
    keywords: list[str] = Field(default_factory=list)
    characters: list[str] = Field(default_factory=list)
    mood: str | None = "neutral"

    _lists = field_validator("keywords", "characters", mode="before")(_as_list)


class ScriptReply(BaseModel):
    """The whole reply; title and hook may be missing because they can be derived."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    title: str | None = ""
    hook: str | None = ""
    scenes: list[SceneReply] = Field(min_length=1)


def script_prompt(req: StoryRequest) -> str:
    """The user message: everything the model needs to size and voice the story."""
    total = max(20, round(req.duration_minutes * WORDS_PER_MINUTE))
    per_scene = max(8, round(total / req.num_scenes))
    genre = GENRE_BRIEFS.get(req.story_type, req.story_type.replace("_", " ") + " story")
    lines = [
        f"Topic: {clean(req.topic)}",
        f"Write {genre}, for a narrated video, as exactly {req.num_scenes} scenes.",
        f"Length: about {total} words of narration in total ({req.duration_minutes:g} "
        f"{'minute' if req.duration_minutes == 1 else 'minutes'} at about {WORDS_PER_MINUTE} "
        f"words per minute), roughly {per_scene} words per scene.",
        f"Hook: scene 1's narration must open with {HOOK_BRIEFS.get(req.hook_intensity, 'a hook')};"
        ' repeat that exact sentence as "hook".',
        f"Pacing: {PACING_BRIEFS.get(req.pacing, req.pacing)}.",
        *_audience_lines(req),
        *_character_lines(req.characters),
        "Reply with only a JSON object of this shape:",
        _SHAPE,
        f'Rules: "scenes" has exactly {req.num_scenes} items in story order; "narration" is '
        'complete spoken sentences with no stage directions; "caption" is 2 to 5 words; '
        '"keywords" are 3 to 5 concrete visual nouns for finding images; "mood" is one word '
        "such as calm, tension, dread, hope or triumph.",
    ]
    return "\n".join(lines)


PLATFORM_BRIEFS: dict[str, str] = {
    "tiktok": "TikTok (vertical, watched with the sound on; hook in the first two seconds)",
    "reels": "Instagram Reels (vertical; a visual hook and a loopable ending)",
    "shorts": "YouTube Shorts (vertical; a clear payoff before the end)",
    "youtube": "YouTube (landscape; room for context and a closing line)",
}


def _audience_lines(req: StoryRequest) -> list[str]:
    """Where it will be watched and in which language it is spoken, when not the defaults."""
    lines = []
    if req.platform in PLATFORM_BRIEFS:
        lines.append(f"Platform: {PLATFORM_BRIEFS[req.platform]}.")
    if req.language and req.language != "en":
        lines.append(
            f"Language: write the title, narration and captions in the language tagged "
            f"{req.language!r}; keep the JSON keys and the keywords in English."
        )
    return lines


def _character_lines(characters: tuple[Character, ...]) -> list[str]:
    """The cast, one per line, so the model spells names exactly and lists who appears."""
    if not characters:
        return ['Characters: none are fixed; leave every scene\'s "characters" list empty.']
    head = (
        "Characters (spell names exactly as written; list in each scene's "
        '"characters" who appears):'
    )
    return [head, *(f"- {c.name}: {c.description or 'no fixed description'}" for c in characters)]


def write_script_remote(
    req: StoryRequest,
    client: UpstreamClient,
    model: str,
    *,
    fallback: bool,
    temperature: float = 0.8,
    on_scene: Callable[[Scene], None] | None = None,
) -> Script:
    """Ask the chat model for the script; with fallback, any failure yields the offline script.

    With `on_scene` the reply is streamed and each scene handed on as soon as it is written
    (providers.script_stream); the returned script is still the checked whole.
    """
    started = time.perf_counter()
    try:
        script, attempts = _ask(req, client, model, temperature, on_scene)
    except (UpstreamError, StageError) as exc:
        if not fallback:
            raise
        log.warning(
            "script_remote_fallback upstream=%s model=%s code=%s reason=%r",
            client.target.name, model, exc.code, exc.message,
        )  # fmt: skip
        return write_script(req)
    log.info(
        "script_remote_ok upstream=%s model=%s scenes=%d attempts=%d ms=%.0f",
        client.target.name, model, len(script.scenes), attempts,
        (time.perf_counter() - started) * 1e3,
    )  # fmt: skip
    return script


def _ask(
    req: StoryRequest,
    client: UpstreamClient,
    model: str,
    temperature: float,
    on_scene: Callable[[Scene], None] | None = None,
) -> tuple[Script, int]:
    """One request (streamed when someone watches) plus at most one repair round that quotes
    the validation error."""
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": script_prompt(req)},
    ]
    if on_scene is not None:
        from sora_app.providers.script_stream import stream_reply  # it builds on this module

        content = stream_reply(req, client, _chat_body(model, messages, temperature), on_scene)
    else:
        content = _complete(client, model, messages, temperature)
    try:
        return parse_script_reply(content, req), 1
    except ScriptReplyError as exc:
        log.warning("script_remote_invalid model=%s attempt=1 error=%r", model, str(exc))
        repair = (
            f"Your reply could not be used: {exc}. Reply again with only the corrected JSON "
            f"object, with exactly {req.num_scenes} scenes, in the shape described above."
        )
        messages += [
            {"role": "assistant", "content": content[:MAX_ECHO_CHARS]},
            {"role": "user", "content": repair},
        ]
    content = _complete(client, model, messages, temperature)
    try:
        return parse_script_reply(content, req), 2
    except ScriptReplyError as exc:
        log.warning("script_remote_invalid model=%s attempt=2 error=%r", model, str(exc))
        raise StageError(
            "SCRIPT_INVALID",
            f"The script model {model!r} returned an unusable script twice: {exc}",
        ) from None


def _complete(
    client: UpstreamClient, model: str, messages: list[dict[str, str]], temperature: float
) -> str:
    """POST chat/completions in JSON mode and return the assistant's text ('' if none)."""
    body = _chat_body(model, messages, temperature)
    reply = client.post_json("chat/completions", json=body, check=_has_message)
    choice = reply["choices"][0]
    content = choice["message"].get("content")
    if choice.get("finish_reason") == "length":
        log.warning("script_remote_cut_off model=%s chars=%d", model, len(content or ""))
    return content if isinstance(content, str) else ""


def _chat_body(model: str, messages: list[dict[str, str]], temperature: float) -> dict:
    return {
        "model": model,
        "messages": messages,
        "response_format": {"type": "json_object"},
        "temperature": temperature,
    }


def _has_message(reply: dict) -> str | None:
    """A completion without choices[0].message is a glitch, retried like malformed JSON."""
    choices = reply.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    ok = isinstance(first, dict) and isinstance(first.get("message"), dict)
    return None if ok else "a chat completion without choices"


def _load_json(content: str) -> dict[str, Any]:
    """Decode the reply, tolerating a code fence or chatter around a single object."""
    text = content.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.S | re.I)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except ValueError as exc:
        start, end = text.find("{"), text.rfind("}")
        try:
            data = json.loads(text[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            data = None
        if data is None:
            raise ScriptReplyError(f"the reply is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ScriptReplyError("the reply must be one JSON object, not a list or a value")
    return data


def _describe(exc: ValidationError) -> str:
    """A short, model-readable list of what failed where (pydantic's text is too noisy)."""
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}"
        for err in exc.errors(include_url=False)[:5]
    ]
    return "; ".join(parts)


def parse_script_reply(content: str, req: StoryRequest) -> Script:
    """Validate a reply and normalise it into a Script with exactly req.num_scenes scenes."""
    if not content.strip():
        raise ScriptReplyError("the reply was empty")
    try:
        reply = ScriptReply.model_validate(_load_json(content))
    except ValidationError as exc:
        raise ScriptReplyError(_describe(exc)) from None
    got = len(reply.scenes)
    if got < req.num_scenes:
        raise ScriptReplyError(f"expected exactly {req.num_scenes} scenes but got {got}")
    if got > req.num_scenes:
        log.info("script_remote_truncated expected=%d got=%d", req.num_scenes, got)
    scenes = [_to_scene(i, s, req.characters) for i, s in enumerate(reply.scenes[: req.num_scenes])]
    hook = reply.hook or (split_sentences(scenes[0].narration) or [""])[0]
    if hook and not scenes[0].narration.casefold().startswith(hook.casefold()):
        scenes[0].narration = f"{hook} {scenes[0].narration}"
    title = reply.title or title_case(clean(req.topic).rstrip("."))
    return Script(title=title, story_type=req.story_type, scenes=scenes, hook=hook)


def _to_scene(index: int, reply: SceneReply, cast: tuple[Character, ...]) -> Scene:
    """Tidy one scene: short caption, de-duplicated keywords, one-word mood, exact names."""
    narration = " ".join(reply.narration.split())
    derived = " ".join(re.findall(r"[\w'-]+", narration)[:5])
    caption = " ".join((reply.caption or derived).split()[:MAX_CAPTION_WORDS]).strip(" .,;:")
    keywords = list(dict.fromkeys(k.lower() for k in reply.keywords if k))[:MAX_KEYWORDS]
    mood_words = re.findall(r"[a-z]+", (reply.mood or "").lower())
    return Scene(
        index=index,
        narration=narration,
        caption=caption or f"Part {index + 1}",
        keywords=keywords,
        characters=match_characters(reply.characters, narration, cast),
        mood=mood_words[0] if mood_words else "neutral",
    )


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


def match_characters(given: list[str], narration: str, cast: tuple[Character, ...]) -> list[str]:
    """Spell present characters exactly as the request does; drop names it never gave."""
    full = {_key(c.name): c.name for c in cast if c.name.strip()}
    firsts: dict[str, list[str]] = {}
    for key, name in full.items():
        firsts.setdefault(key.split()[0], []).append(name)
    unique_first = {k: v[0] for k, v in firsts.items() if len(v) == 1}
    found = {full.get(_key(n)) or unique_first.get(_key(n)) for n in given} - {None}
    spoken = _key(narration)
    for key, name in full.items():
        if re.search(rf"(?<!\w){re.escape(key)}(?!\w)", spoken):
            found.add(name)
    return [name for name in full.values() if name in found]
