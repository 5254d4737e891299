"""Remote script, image, stock and speech providers against the fake upstreams over HTTP."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sora_app.devtools import fake_media
from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.pipeline.script import write_script
from sora_app.pipeline.types import Character, ImageSpec, Scene, StageError, StoryRequest
from sora_app.providers.http import UpstreamBadResponse, UpstreamClient, UpstreamUnavailable
from sora_app.providers.remote_images import generate_scene_image, scene_prompt
from sora_app.providers.remote_script import (
    ScriptReplyError,
    parse_script_reply,
    script_prompt,
    write_script_remote,
)
from sora_app.providers.remote_tts import decode_audio, synthesize_remote
from sora_app.providers.stock import (
    fetch_stock_image,
    orientation_for,
    search_stock,
    stock_keywords,
)
from tests.fakes import make_client as shared_client
from tests.fakes import reset, serving

KEY = "sk-test-REMOTE-0123456789abcdef"
SARAH = Character("Sarah", "25 years old, short red hair, green raincoat")
TOM = Character("Tom Baker", "60 years old, grey beard, lighthouse keeper's cap")
REQ = StoryRequest(topic="The Vanishing Lighthouse", num_scenes=4, characters=(SARAH, TOM), seed=7)
PORTRAIT = ImageSpec(style="cinematic", width=108, height=192)
LANDSCAPE = ImageSpec(style="anime", width=192, height=108)
SQUARE = ImageSpec(style="dark", width=120, height=120)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstreams]:
    with serving(api_key=KEY, slow_seconds=1.0, retry_after_ms=30) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeUpstreams) -> None:
    reset(fake)


def make_client(base_url: str, **overrides: object) -> UpstreamClient:
    settings = dict(overrides)
    key = settings.pop("api_key", KEY)
    return shared_client(base_url, key, **settings)


@pytest.fixture
def client(fake: FakeUpstreams) -> Iterator[UpstreamClient]:
    with make_client(fake.base_url) as upstream:
        yield upstream


@pytest.fixture
def pexels(fake: FakeUpstreams) -> Iterator[UpstreamClient]:
    with make_client(fake.base_url, auth_scheme="") as upstream:
        yield upstream


def assert_jpeg(path: Path, spec: ImageSpec) -> None:
    with Image.open(path) as img:
        assert img.format == "JPEG" and img.size == (spec.width, spec.height)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


# --- script -------------------------------------------------------------------------------


def test_script_has_exact_scene_count_and_names(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    script = write_script_remote(REQ, client, "gpt-test", fallback=False)
    assert [s.index for s in script.scenes] == [0, 1, 2, 3]
    assert script.title and script.story_type == "mystery"
    assert script.scenes[0].narration.startswith(script.hook)
    assert all(s.narration and s.caption and s.keywords for s in script.scenes)
    assert script.scenes[1].characters == ["Sarah", "Tom Baker"]
    (sent,) = fake.requests("chat")
    body = sent["json"]
    assert body["model"] == "gpt-test" and body["response_format"] == {"type": "json_object"}
    prompt = body["messages"][-1]["content"]
    assert "exactly 4 scenes" in prompt and "- Sarah: 25 years old" in prompt
    assert "150 words" in prompt and "mystery" in prompt


def test_sloppy_reply_is_normalised(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.set_fault("chat", "sloppy_script", count=1)
    script = write_script_remote(REQ, client, "m", fallback=False)
    assert len(script.scenes) == 4 and fake.count("chat") == 1
    assert script.scenes[1].characters == ["Sarah", "Tom Baker"]
    assert all("Mysterious Stranger" not in s.characters for s in script.scenes)
    assert all(isinstance(s.keywords, list) and s.keywords for s in script.scenes)


def test_invalid_reply_is_repaired_once(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.set_fault("chat", "invalid_script", count=1)
    script = write_script_remote(REQ, client, "m", fallback=False)
    assert len(script.scenes) == 4
    first, second = fake.requests("chat")
    assert first["fault"] == "invalid_script" and second["fault"] is None
    roles = [m["role"] for m in second["json"]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert "not valid JSON" in second["json"]["messages"][-1]["content"]


def test_invalid_twice_raises(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.set_fault("chat", "invalid_script", count=2)
    with pytest.raises(StageError) as caught:
        write_script_remote(REQ, client, "m", fallback=False)
    assert caught.value.code == "SCRIPT_INVALID" and fake.count("chat") == 2


def test_invalid_twice_falls_back_offline(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.set_fault("chat", "invalid_script", count=2)
    script = write_script_remote(REQ, client, "m", fallback=True)
    assert script.to_dict() == write_script(REQ).to_dict()
    assert fake.count("chat") == 2


def test_too_few_scenes_is_invalid() -> None:
    reply = '{"title": "T", "scenes": [{"narration": "Only one scene."}]}'
    with pytest.raises(ScriptReplyError, match="exactly 4 scenes but got 1"):
        parse_script_reply(reply, REQ)


def test_refused_upstream_propagates_or_falls_back() -> None:
    with make_client(FakeUpstreams.refused_base_url()) as down:
        with pytest.raises(UpstreamUnavailable):
            write_script_remote(REQ, down, "m", fallback=False)
        script = write_script_remote(REQ, down, "m", fallback=True)
    assert script.to_dict() == write_script(REQ).to_dict()


# --- images -------------------------------------------------------------------------------


def test_character_sheet_in_every_prompt() -> None:
    script = write_script(REQ)
    prompts = [scene_prompt(script, s, "watercolor", REQ.characters) for s in script.scenes]
    sheet = f"Sarah: {SARAH.description}; Tom Baker: {TOM.description}"
    assert all(sheet in p and "watercolor painting" in p for p in prompts)
    assert len(set(prompts)) == len(prompts)
    with pytest.raises(StageError):
        scene_prompt(script, script.scenes[0], "crayon", REQ.characters)


def test_a_creators_visual_and_take_reach_the_image_prompt() -> None:
    script = write_script(REQ)
    scene = script.scenes[1]
    plain = scene_prompt(script, scene, "watercolor", REQ.characters)
    asked = replace(scene, visual="a red rowing boat under a bridge at dawn", variant=2)
    prompt = scene_prompt(script, asked, "watercolor", REQ.characters)
    assert "Picture: a red rowing boat under a bridge at dawn." in prompt
    assert "Take 3" in prompt and "Picture:" not in plain and "Take" not in plain


def test_the_script_prompt_names_platform_and_language_only_when_asked() -> None:
    plain = script_prompt(REQ)
    asked = script_prompt(replace(REQ, platform="tiktok", language="pt-BR"))
    assert "Platform:" not in plain and "Language:" not in plain
    assert "Platform: TikTok" in asked and "'pt-BR'" in asked


def test_generated_b64_image_is_exact_jpeg(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
) -> None:
    dest = generate_scene_image(client, "img", "a lighthouse", PORTRAIT, tmp_path / "s.jpg", 10**7)
    assert_jpeg(dest, PORTRAIT)
    (sent,) = fake.requests("images")
    assert sent["json"]["size"] == "1024x1792" and sent["json"]["response_format"] == "b64_json"


def test_generated_url_image_is_exact_jpeg(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
) -> None:
    dest = tmp_path / "s.jpg"
    generate_scene_image(client, "img", "a fog", LANDSCAPE, dest, 10**7, response_format="url")
    assert_jpeg(dest, LANDSCAPE)
    assert fake.requests("images")[0]["json"]["size"] == "1792x1024"
    assert fake.count("media_generated") == 1


def test_generated_image_over_cap_is_refused(client: UpstreamClient, tmp_path: Path) -> None:
    with pytest.raises(UpstreamBadResponse, match="bytes allowed"):
        generate_scene_image(client, "img", "a moon", SQUARE, tmp_path / "s.jpg", 1000)
    assert list(tmp_path.iterdir()) == []


# --- stock --------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [PORTRAIT, LANDSCAPE, SQUARE])
def test_stock_search_honours_orientation(
    fake: FakeUpstreams, pexels: UpstreamClient, spec: ImageSpec
) -> None:
    scene = Scene(index=0, narration="x", caption="x", keywords=["fog", "Lighthouse"])
    words = stock_keywords(["lighthouse", "coast"], scene)
    assert words == ["lighthouse", "coast", "fog"]
    urls = search_stock(pexels, words, orientation_for(spec), 3)
    assert len(urls) == 3 and all("/media/photos/" in u for u in urls)
    (sent,) = fake.requests("search")
    assert sent["args"] == {
        "query": "lighthouse coast fog",
        "orientation": orientation_for(spec),
        "per_page": "3",
    }
    assert sent["status"] == 200


def test_stock_fetch_is_exact_jpeg(pexels: UpstreamClient, tmp_path: Path) -> None:
    (url,) = search_stock(pexels, ["forest"], "portrait", 1)
    dest = fetch_stock_image(pexels, url, PORTRAIT, tmp_path / "scene_000.jpg", 10**7)
    assert_jpeg(dest, PORTRAIT)


@pytest.mark.parametrize(
    ("fault", "cap", "match"), [("truncated", 10**7, "truncated"), (None, 500, "bytes allowed")]
)
def test_stock_bad_download_leaves_no_file(
    fake: FakeUpstreams,
    pexels: UpstreamClient,
    tmp_path: Path,
    fault: str | None,
    cap: int,
    match: str,
) -> None:
    (url,) = search_stock(pexels, ["forest"], "landscape", 1)
    fake.set_fault("media", fault)  # every attempt: one truncation alone is retried
    with pytest.raises(UpstreamBadResponse, match=match):
        fetch_stock_image(pexels, url, LANDSCAPE, tmp_path / "scene_000.jpg", cap)
    assert list(tmp_path.iterdir()) == []


def test_stock_non_image_is_refused(
    fake: FakeUpstreams, pexels: UpstreamClient, tmp_path: Path
) -> None:
    with pytest.raises(UpstreamBadResponse, match="not an image"):
        fetch_stock_image(pexels, f"{fake.base_url}/models", SQUARE, tmp_path / "s.jpg", 10**6)
    assert list(tmp_path.iterdir()) == []


# --- speech -------------------------------------------------------------------------------


def test_remote_tts_returns_int16_at_reported_rate(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    audio, rate = synthesize_remote(client, "tts-1", "onyx", "One two three four.", speed=2.0)
    assert audio.dtype == np.int16 and audio.ndim == 1
    assert rate == fake_media.SAMPLE_RATE
    assert np.abs(audio).max() > 3000
    assert len(audio) / rate == pytest.approx(4 * 0.16, abs=0.05)
    (sent,) = fake.requests("speech")
    assert sent["json"]["response_format"] == "wav" and sent["json"]["voice"] == "onyx"


def test_decode_mp3_and_stereo_wav(client: UpstreamClient) -> None:
    samples = fake_media.speech_samples("hello there friend")
    mp3 = fake_media.transcode_audio(fake_media.wav_bytes(samples), "mp3")
    audio, rate = decode_audio(client, mp3, "audio/mpeg")
    assert audio.dtype == np.int16 and rate == fake_media.SAMPLE_RATE
    assert abs(len(audio) - len(samples)) < rate * 0.2 and np.abs(audio).max() > 3000
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(np.repeat(samples, 2).tobytes())
    stereo, stereo_rate = decode_audio(client, buffer.getvalue())
    assert stereo_rate == 16_000 and np.array_equal(stereo, samples)
    with pytest.raises(UpstreamBadResponse, match="could not be decoded"):
        decode_audio(client, b"not audio at all" * 10)
