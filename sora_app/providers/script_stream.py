"""A script model's reply as it streams: each scene is handed on the moment its JSON closes.

The model writes one JSON object ({"title", "hook", "scenes": [...]}) a few characters at a
time; a person watching the script appear should see scene 1 while scene 5 is still being
written. The finished reply is then checked exactly like a whole one (remote_script), so a
streamed scene is a preview and the final script is what counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from pydantic import ValidationError

from sora_app.pipeline.types import Scene, StoryRequest
from sora_app.providers.http import UpstreamClient
from sora_app.providers.remote_script import SceneReply, _to_scene

SceneFn = Callable[[Scene], None]
"""Called with each scene as soon as the model has finished writing it."""
_SCENES_KEY = re.compile(r'"scenes"\s*:\s*\[')


class SceneScanner:
    """Finds each complete object of the "scenes" array in JSON text still arriving."""

    def __init__(self) -> None:
        self.text = ""
        self._pos = -1  # scan position once the array has opened
        self._depth = 0
        self._start = 0
        self._in_string = self._escaped = self._closed = False

    def feed(self, piece: str) -> list[dict]:
        """Add text; the scene objects it completed, in order."""
        self.text += piece
        if self._pos < 0:
            found = _SCENES_KEY.search(self.text)
            if found is None:
                return []
            self._pos = found.end()
        done: list[dict] = []
        while self._pos < len(self.text) and not self._closed:
            char = self.text[self._pos]
            self._step(char, done)
            self._pos += 1
        return done

    def _step(self, char: str, done: list[dict]) -> None:
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif char == "\\":
                self._escaped = True
            elif char == '"':
                self._in_string = False
        elif char == '"':
            self._in_string = True
        elif char in "{[":
            if self._depth == 0:
                self._start = self._pos
            self._depth += 1
        elif char in "}]":
            if self._depth == 0:  # the array's own "]"
                self._closed = True
                return
            self._depth -= 1
            if self._depth == 0:
                self._emit(self.text[self._start : self._pos + 1], done)

    @staticmethod
    def _emit(raw: str, done: list[dict]) -> None:
        try:
            value = json.loads(raw)
        except ValueError:
            return
        if isinstance(value, dict):
            done.append(value)


class _Receiver:
    """Collects one streamed reply; a retried attempt starts the text and the scan over."""

    def __init__(self, req: StoryRequest, on_scene: SceneFn) -> None:
        self.req, self.on_scene = req, on_scene
        self.attempt, self.sent, self.text = 0, 0, ""
        self.scanner, self.seen = SceneScanner(), 0

    def __call__(self, payload: str, attempt: int) -> None:
        if attempt != self.attempt:
            self.attempt, self.text, self.scanner, self.seen = attempt, "", SceneScanner(), 0
        if payload == "[DONE]":
            return
        try:
            piece = json.loads(payload)["choices"][0].get("delta", {}).get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return  # a keep-alive or a chunk we do not know: the final check judges the text
        self.text += piece
        for raw in self.scanner.feed(piece):
            self.seen += 1
            if self.sent < self.seen <= self.req.num_scenes:
                self._hand_on(self.seen - 1, raw)

    def _hand_on(self, index: int, raw: dict) -> None:
        try:
            scene = _to_scene(index, SceneReply.model_validate(raw), self.req.characters)
        except ValidationError:
            return  # shown once the final reply is checked (and repaired if need be)
        if index == self.sent:  # in order only: a gap waits for the final script
            self.on_scene(scene)
            self.sent += 1


def stream_reply(req: StoryRequest, client: UpstreamClient, body: dict, on_scene: SceneFn) -> str:
    """The model's whole reply text, streamed; `on_scene` hears each scene as it closes.

    A retried stream starts over: scenes already handed on are not handed on again.
    """
    receiver = _Receiver(req, on_scene)
    client.stream_data("chat/completions", {**body, "stream": True}, receiver)
    return receiver.text
