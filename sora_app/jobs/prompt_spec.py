"""A prompt and a length in seconds as a local render's fields (the task API and /v1)."""

from __future__ import annotations

from typing import Any

SECONDS_PER_SCENE = 6
"""A local render gives each scene about this long."""
SPEC_MIN_SECONDS = 6
"""JobSpec's `duration` floor (0.1 min); the exact length travels in `seconds`."""
TOPIC_CHARS = 200


def prompt_fields(prompt: str, seconds: int, aspect_ratio: str) -> dict[str, Any]:
    """The prompt becomes the topic (cut at a word), the narration is fitted to `seconds`."""
    topic = prompt
    if len(prompt) > TOPIC_CHARS:
        topic = prompt[: TOPIC_CHARS - 3].rsplit(" ", 1)[0] + "..."
    return {
        "topic": topic,
        "duration": max(seconds, SPEC_MIN_SECONDS) / 60,
        "seconds": seconds,
        "num_scenes": max(1, min(10, seconds // SECONDS_PER_SCENE)),
        "aspect_ratio": aspect_ratio,
    }
