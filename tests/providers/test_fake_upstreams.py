"""The fake upstreams speak the OpenAI/Pexels wire formats with real media, over real HTTP."""

from __future__ import annotations

import base64
import io
import json
import socket
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
import requests
from PIL import Image

from sora_app.devtools import fake_upstreams
from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.providers.http import UpstreamClient, UpstreamRejected
from tests.fakes import reset, serving

KEY = "fake-key"


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeUpstreams]:
    with serving(api_key=KEY, video_seconds=1.0, slow_seconds=1.0) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeUpstreams) -> None:
    reset(fake)


@pytest.fixture
def client(fake: FakeUpstreams) -> Iterator[UpstreamClient]:
    with UpstreamClient("video API", fake.base_url, KEY, 1.0, 10.0, 2, 15.0, 0.01) as upstream:
        yield upstream


def wait_for(client: UpstreamClient, video_id: str) -> list[dict]:
    """Poll until terminal, returning every observed state."""
    seen = [client.get_json(f"videos/{video_id}")]
    while seen[-1]["status"] in {"queued", "in_progress"}:
        time.sleep(0.1)
        seen.append(client.get_json(f"videos/{video_id}"))
    return seen


def test_video_lifecycle_produces_real_mp4(client: UpstreamClient, tmp_path: Path) -> None:
    video = client.post_json(
        "videos", json={"prompt": "a red kite", "seconds": "4", "size": "720x1280"}
    )
    assert video["object"] == "video" and video["status"] == "queued" and video["seconds"] == "4"
    seen = wait_for(client, video["id"])
    progress = [v["progress"] for v in seen]
    assert progress == sorted(progress) and progress[-1] == 100
    assert "in_progress" in {v["status"] for v in seen}
    done = seen[-1]
    assert done["status"] == "completed" and done["completed_at"] and done["error"] is None
    clip = client.download(f"videos/{video['id']}/content", tmp_path / "v.mp4", 20_000_000)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (720, 1280)
        assert container.streams.audio
        assert 3.5 < container.duration / 1_000_000 < 4.5
    thumb = client.request("GET", f"videos/{video['id']}/content", params={"variant": "thumbnail"})
    assert thumb.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(thumb.content)).size == (720, 1280)


def test_content_before_completion_is_rejected(client: UpstreamClient) -> None:
    video = client.post_json("videos", json={"prompt": "slow sunrise"})
    with pytest.raises(UpstreamRejected, match="not ready"):
        client.request("GET", f"videos/{video['id']}/content")


def test_failed_fault_ends_in_failed_status(client: UpstreamClient) -> None:
    video = client.post_json(
        "videos", json={"prompt": "doomed"}, headers={"X-Fake-Fault": "failed"}
    )
    final = wait_for(client, video["id"])[-1]
    assert final["status"] == "failed"
    assert final["error"]["code"] and final["error"]["message"]


def test_list_paging_and_delete(fake: FakeUpstreams, client: UpstreamClient) -> None:
    ids = [client.post_json("videos", json={"prompt": f"clip {i}"})["id"] for i in range(3)]
    page = client.get_json("videos", params={"limit": 2, "order": "desc"})
    assert page["object"] == "list" and page["has_more"] is True
    assert [v["id"] for v in page["data"]] == ids[:0:-1]
    assert page["first_id"] == ids[2] and page["last_id"] == ids[1]
    rest = client.get_json("videos", params={"limit": 2, "order": "desc", "after": ids[1]})
    assert rest["data"][0]["id"] == ids[0]
    gone = client.request("DELETE", f"videos/{ids[0]}").json()
    assert gone == {"id": ids[0], "deleted": True, "object": "video.deleted"}
    with pytest.raises(UpstreamRejected) as caught:
        client.get_json(f"videos/{ids[0]}")
    assert caught.value.status_hint == 404


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_multipart_create_with_input_reference(client: UpstreamClient) -> None:
    fields = {"prompt": "from this frame", "size": "1280x720", "seconds": "4"}
    files = {"input_reference": ("first.png", _png(1280, 720), "image/png")}
    video = client.post_json("videos", data=fields, files=files)
    assert video["size"] == "1280x720" and video["status"] == "queued"
    wrong = {"input_reference": ("first.png", _png(100, 100), "image/png")}
    with pytest.raises(UpstreamRejected, match="100x100 but the requested size is 1280x720"):
        client.post_json("videos", data=fields, files=wrong)


def test_auth_is_required(fake: FakeUpstreams) -> None:
    bare = requests.get(f"{fake.base_url}/videos", timeout=5)
    assert bare.status_code == 401
    error = bare.json()["error"]
    assert set(error) >= {"message", "type", "code"} and error["code"] == "invalid_api_key"
    ok = requests.get(
        f"{fake.base_url}/videos", headers={"Authorization": f"Bearer {KEY}"}, timeout=5
    )
    assert ok.status_code == 200


def test_chat_completion_returns_scenes(client: UpstreamClient) -> None:
    messages = [{"role": "user", "content": "The Vanishing Lighthouse\nWrite 4 scenes as JSON."}]
    body = client.post_json("chat/completions", json={"model": "m", "messages": messages})
    script = json.loads(body["choices"][0]["message"]["content"])
    assert len(script["scenes"]) == 4 and "Lighthouse" in script["title"]
    assert all(s["narration"] and s["keywords"] for s in script["scenes"])


def test_chat_streaming_sends_deltas(client: UpstreamClient) -> None:
    payload = {"messages": [{"role": "user", "content": "Fog\n2 scenes"}], "stream": True}
    response = client.request("POST", "chat/completions", json=payload)
    lines = [line for line in response.iter_lines(decode_unicode=True) if line]
    assert lines[-1] == "data: [DONE]"
    text = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content", "") for line in lines[:-1]
    )
    assert len(json.loads(text)["scenes"]) == 2


def test_images_b64_and_url(client: UpstreamClient, tmp_path: Path) -> None:
    b64 = client.post_json("images/generations", json={"prompt": "moon", "size": "256x384"})
    image = Image.open(io.BytesIO(base64.b64decode(b64["data"][0]["b64_json"])))
    assert image.format == "PNG" and image.size == (256, 384)
    linked = client.post_json(
        "images/generations", json={"prompt": "sun", "size": "64x64", "response_format": "url"}
    )
    path = client.download(linked["data"][0]["url"], tmp_path / "sun.png", 10**6)
    assert Image.open(path).size == (64, 64)


def test_speech_wav_and_mp3(client: UpstreamClient, tmp_path: Path) -> None:
    text = {"model": "tts-1", "input": "one two three four five", "voice": "alloy"}
    wav = client.request("POST", "audio/speech", json=text | {"response_format": "wav"})
    with wave.open(io.BytesIO(wav.content)) as audio:
        assert audio.getnchannels() == 1 and audio.getnframes() / audio.getframerate() > 1.0
    mp3 = client.request("POST", "audio/speech", json=text)
    assert mp3.headers["Content-Type"] == "audio/mpeg"
    (tmp_path / "s.mp3").write_bytes(mp3.content)
    with av.open(str(tmp_path / "s.mp3")) as container:
        assert container.format.name == "mp3" and container.duration > 1_000_000


def test_stock_search_honours_orientation(client: UpstreamClient, tmp_path: Path) -> None:
    found = client.get_json(
        "search", params={"query": "forest", "orientation": "portrait", "per_page": 3}
    )
    assert len(found["photos"]) == 3 and found["total_results"] > 3 and found["next_page"]
    photo = found["photos"][0]
    assert photo["height"] > photo["width"]
    assert set(photo["src"]) >= {"original", "large", "portrait", "landscape"}
    path = client.download(photo["src"]["large"], tmp_path / "p.jpg", 10**7)
    assert Image.open(path).size == (photo["width"] // 3, photo["height"] // 3)


def test_set_fault_counts_and_prefixes(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.set_fault("videos", "content_404", count=1)
    with pytest.raises(UpstreamRejected):
        client.get_json("videos")
    assert client.get_json("videos")["object"] == "list"
    assert [e["fault"] for e in fake.requests("videos_list")] == ["content_404", None]


def test_cli_reports_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert fake_upstreams.main(["--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().out
