"""Script generation streamed as it is written (SSE), offline and from a script model."""

from __future__ import annotations

import json

import pytest
import requests

from sora_app import create_app
from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.pipeline.types import StoryRequest
from sora_app.providers.remote_script import _chat_body
from sora_app.providers.script_stream import SceneScanner, stream_reply
from tests.conftest import app_config, close_app, serve
from tests.fakes import make_client
from tests.jobs.test_upstream_jobs import KEY, upstream

STREAM = {"Accept": "text/event-stream"}


def events_of(lines) -> list[tuple[str, dict]]:
    """(event, data) pairs of an SSE body read line by line."""
    found, kind = [], None
    for raw in lines:
        line = raw.decode() if isinstance(raw, bytes) else raw
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            found.append((kind, json.loads(line[6:])))
    return found


@pytest.fixture(scope="module")
def fake():
    server = FakeUpstreams(api_key=KEY)
    server.start()
    yield server
    server.stop()


def test_a_script_streams_scene_by_scene_through_a_real_server(tmp_path):
    for base in serve(tmp_path):
        body = {"topic": "The Clock Tower", "num_scenes": 4, "duration": 0.5,
                "script_source": "offline"}  # fmt: skip
        with requests.post(f"{base}/api/scripts", json=body, headers=STREAM, stream=True,
                           timeout=30) as answer:  # fmt: skip
            assert answer.status_code == 200
            assert answer.headers["Content-Type"].startswith("text/event-stream")
            assert answer.headers["X-Accel-Buffering"] == "no"
            got = events_of(answer.iter_lines())
        kinds = [kind for kind, _ in got]
        assert kinds == ["scene"] * 4 + ["done"], kinds
        done = got[-1][1]
        assert [d["index"] for _, d in got[:4]] == [0, 1, 2, 3]
        assert [d["narration"] for _, d in got[:4]] == [s["narration"] for s in done["scenes"]]
        stored = requests.get(f"{base}/api/scripts/{done['id']}", timeout=10).json()
        assert stored["version"] == 1 and stored["scenes"] == done["scenes"]
        bad = requests.post(f"{base}/api/scripts", json={"topic": ""}, headers=STREAM, timeout=10)
        assert bad.status_code == 400 and bad.json()["field"] == "topic"


def test_scenes_are_handed_on_while_the_model_is_still_writing(fake, monkeypatch):
    client = make_client(fake.base_url, KEY)
    req = StoryRequest(topic="The Night Ferry", num_scenes=4, duration_minutes=0.5)
    received = {"text": ""}  # what had arrived when the scanner last looked
    handed_on_at: list[int] = []
    feed = SceneScanner.feed

    def watched_feed(self, piece):
        found = feed(self, piece)
        received["text"] = self.text
        return found

    monkeypatch.setattr(SceneScanner, "feed", watched_feed)
    messages = [{"role": "user", "content": "Topic: The Night Ferry. Exactly 4 scenes."}]
    body = _chat_body("gpt-4o-mini", messages, 0.8)
    text = stream_reply(
        req, client, body, lambda _scene: handed_on_at.append(len(received["text"]))
    )
    assert len(handed_on_at) == 4 and handed_on_at == sorted(handed_on_at)
    assert handed_on_at[0] < len(text) / 2, "scene 1 went out long before the reply ended"


def test_the_scanner_emits_each_scene_when_its_brace_closes():
    first = {"narration": 'A } brace and "quotes" in text.', "keywords": ["a", "b"]}
    second = {"narration": "Second.", "nested": {"x": [1, {"y": 2}]}}
    reply = json.dumps({"title": 'T {odd} "title"', "scenes": [first, second], "hook": "]"})
    scanner, emitted = SceneScanner(), []
    for position, char in enumerate(reply):
        emitted += [(position, scene) for scene in scanner.feed(char)]
    assert [scene for _, scene in emitted] == [first, second]
    assert emitted[0][0] == reply.index(json.dumps(first)) + len(json.dumps(first)) - 1
    assert emitted[1][0] == reply.index(json.dumps(second)) + len(json.dumps(second)) - 1


def test_a_model_script_streams_and_its_failures_arrive_as_an_error_event(tmp_path, fake):
    llm = {"llm": upstream("llm", fake.base_url)}
    app = create_app({**app_config(tmp_path), "UPSTREAMS": llm, "LLM_FALLBACK": False})
    client = app.test_client()
    try:
        body = {"topic": "The Night Ferry", "num_scenes": 3, "duration": 0.3}
        got = events_of(client.post("/api/scripts", json=body, headers=STREAM).data.splitlines())
        assert [kind for kind, _ in got] == ["scene"] * 3 + ["done"], got
        assert fake.requests("chat")[-1]["status"] == 200
        fake.set_fault("chat", "500")
        failed = events_of(client.post("/api/scripts", json=body, headers=STREAM).data.splitlines())
        assert failed[-1][0] == "error" and failed[-1][1]["error"].startswith("UPSTREAM"), failed
        assert client.get("/api/scripts").get_json()["total"] == 1
    finally:
        fake.clear_faults()
        close_app(app)
    offline_only = create_app(app_config(tmp_path / "bare"))
    refused = offline_only.test_client().post(
        "/api/scripts", json={"topic": "x", "script_source": "remote"}, headers=STREAM
    )
    assert refused.status_code == 400 and refused.get_json()["error"] == "UPSTREAM_NOT_CONFIGURED"
    close_app(offline_only)
