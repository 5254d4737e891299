"""/v1/videos driven by the official `openai` SDK against a real gunicorn server."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import numpy as np
import openai
import pytest
import requests
from PIL import Image

from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.pipeline.probe import probe
from tests.conftest import png_bytes, serve
from tests.webhook_receiver import Receiver, serve_receiver

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
"""The SDK marks `videos` deprecated because OpenAI's own service closed; ours has not."""
QUICK = {"voice_id": "espeak_male"}
"""extra_body for renders whose voice does not matter: espeak speaks fastest."""
GATEWAY_KEY = "sk-gateway-secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    yield from serve(
        tmp_path_factory.mktemp("v1"), SORA_JOB_WORKERS="2", SORA_RATE_LIMIT_REGISTER="100/hour",
        SORA_IMAGE_URL_ALLOW_HOSTS="127.0.0.1", SORA_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
    )  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def picture_host() -> Iterator[str]:
    """A loopback web server with one green picture at /green.png."""
    picture = png_bytes((720, 1280), (20, 160, 60))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/green.png"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(picture) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(picture)

        def log_message(self, *args) -> None:
            pass

    host = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{host.server_address[1]}"
    host.shutdown()


@pytest.fixture(scope="module")
def sdk(server: str) -> openai.OpenAI:
    """The SDK as its examples use it: some key, our base URL (open mode: the local user)."""
    return openai.OpenAI(base_url=f"{server}/v1", api_key="sk-anything", max_retries=0)


@pytest.fixture(scope="module")
def rendered(sdk: openai.OpenAI):
    """One finished local render, shared by the tests that only read it."""
    video = sdk.videos.create_and_poll(
        prompt="A paper boat drifting down a rainy street",
        seconds="4",
        size="1280x720",
        poll_interval_ms=200,
        extra_body=QUICK,
    )
    assert video.status == "completed", video.error
    return video


def test_create_and_poll_renders_a_video_of_the_asked_size_and_length(sdk, rendered, tmp_path):
    assert rendered.id.startswith("video_") and rendered.object == "video"
    assert (rendered.model, rendered.size, rendered.seconds) == ("sora-2", "1280x720", "4")
    assert rendered.progress == 100 and rendered.error is None
    assert rendered.completed_at >= rendered.created_at > 1_700_000_000
    out = tmp_path / "boat.mp4"
    sdk.videos.download_content(rendered.id).write_to_file(out)
    media = probe(out)
    assert (media.width, media.height) == (1280, 720) and media.has_audio
    assert abs(media.duration - 4.0) < 0.25


def test_thumbnail_and_spritesheet_variants(sdk, rendered):
    thumb = sdk.videos.download_content(rendered.id, variant="thumbnail")
    assert thumb.response.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "WEBP" and image.size == (1280, 720)
    sheet = sdk.videos.download_content(rendered.id, variant="spritesheet").content
    with Image.open(io.BytesIO(sheet)) as image:
        assert image.format == "JPEG" and image.size == (5 * 256, 2 * 144)
        tiles = np.asarray(image.convert("L"), dtype=float)
    assert tiles.std() > 10  # frames, not a blank sheet


def test_content_serves_ranges_and_revalidates(server, rendered):
    url = f"{server}/v1/videos/{rendered.id}/content"
    part = requests.get(url, headers={"Range": "bytes=100-1123"}, timeout=10)
    assert part.status_code == 206 and len(part.content) == 1024
    whole = requests.get(url, timeout=10)
    assert whole.content[100:1124] == part.content
    again = requests.get(url, headers={"If-None-Match": whole.headers["ETag"]}, timeout=10)
    assert again.status_code == 304


def test_retrieve_and_the_same_job_on_every_other_surface(sdk, server, rendered):
    assert sdk.videos.retrieve(rendered.id).model_dump() == rendered.model_dump()
    job_id = rendered.id.removeprefix("video_")
    progress = requests.get(f"{server}/api/progress/{job_id}", timeout=10).json()
    assert progress["status"] == "complete" and progress["video_url"]
    task = requests.get(f"{server}/api/video/tasks/{rendered.id}", timeout=10).json()["data"]
    assert task["status"] == "COMPLETED" and task["prompt"] == rendered.prompt
    library = requests.get(f"{server}/api/videos/{rendered.id}", timeout=10)
    assert library.status_code == 200


def test_list_pages_with_a_cursor_both_ways(sdk, rendered):
    for n in range(2):
        sdk.videos.create(prompt=f"Queued number {n}", seconds="4", extra_body=QUICK)
    newest = sdk.videos.list(limit=2)
    assert newest.object == "list" and len(newest.data) == 2 and newest.has_more
    assert newest.first_id == newest.data[0].id and newest.last_id == newest.data[1].id
    rest = sdk.videos.list(limit=2, after=newest.last_id)
    seen = [v.id for v in newest.data] + [v.id for v in rest.data]
    assert len(seen) == len(set(seen)) >= 3 and rendered.id in seen
    oldest = sdk.videos.list(limit=100, order="asc")
    assert [v.id for v in oldest.data] == list(reversed([v.id for v in sdk.videos.list().data]))
    assert [v.id for v in sdk.videos.list(limit=1)] == [v.id for v in sdk.videos.list().data]


def _audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])


def test_remix_keeps_the_narration_and_names_its_source(sdk, rendered, tmp_path):
    remix = sdk.videos.remix(rendered.id, prompt="The same street under heavy snow at night")
    assert remix.remixed_from_video_id == rendered.id and remix.id != rendered.id
    remix = sdk.videos.poll(remix.id, poll_interval_ms=200)
    assert remix.status == "completed", remix.error
    assert (remix.size, remix.seconds) == (rendered.size, rendered.seconds)
    assert remix.prompt == "The same street under heavy snow at night"
    before, after = tmp_path / "before.mp4", tmp_path / "after.mp4"
    sdk.videos.download_content(rendered.id).write_to_file(before)
    sdk.videos.download_content(remix.id).write_to_file(after)
    first, second = _audio(before), _audio(after)
    assert first.shape == second.shape and np.allclose(first, second, atol=1e-3)


def _first_frame_colour(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    h, w, _ = frame.shape
    return frame[h // 8 : h // 3, w // 4 : 3 * w // 4].reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("form", ["file", "data_url", "file_id"])
def test_a_reference_image_becomes_the_first_frame(sdk, server, tmp_path, form):
    picture = png_bytes((720, 1280), (20, 160, 60))
    if form == "file":
        reference = ("green.png", picture, "image/png")
    elif form == "data_url":
        reference = {"image_url": "data:image/png;base64," + base64.b64encode(picture).decode()}
    else:
        uploaded = requests.post(
            f"{server}/api/media", files={"file": ("green.png", picture)}, timeout=30
        )
        assert uploaded.status_code == 201, uploaded.text
        reference = {"file_id": uploaded.json()["id"]}
    # This SDK sends only files as `input_reference`; the JSON forms go in extra_body.
    sent = {"input_reference": reference} if form == "file" else {}
    extra = QUICK if form == "file" else {**QUICK, "input_reference": reference}
    video = sdk.videos.create_and_poll(
        prompt="A green field", seconds="4", poll_interval_ms=200, extra_body=extra, **sent
    )
    assert video.status == "completed", video.error
    out = tmp_path / "ref.mp4"
    sdk.videos.download_content(video.id).write_to_file(out)
    red, green, blue = _first_frame_colour(out)
    assert green > 110 and red < 70 and blue < 100, (red, green, blue)


def test_an_image_url_is_fetched_and_the_end_is_a_signed_webhook(
    sdk, server, tmp_path, picture_host, receiver
):
    receiver.secret = requests.get(f"{server}/api/auth/webhook", timeout=10).json()["secret"]
    extra = {**QUICK, "input_reference": {"image_url": f"{picture_host}/green.png"}}
    video = sdk.videos.create_and_poll(
        prompt="A green field", seconds="4", poll_interval_ms=200,
        extra_body={**extra, "webhook_url": receiver.url},
    )  # fmt: skip
    assert video.status == "completed", video.error
    out = tmp_path / "fetched.mp4"
    sdk.videos.download_content(video.id).write_to_file(out)
    red, green, blue = _first_frame_colour(out)
    assert green > 110 and red < 70 and blue < 100, (red, green, blue)
    (delivery,) = receiver.wait_for(1)
    assert delivery.problem is None and delivery.event["type"] == "video.completed"
    assert delivery.event["data"]["id"] == video.id


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://169.254.169.254/latest/meta-data", "may not be fetched"),
        ("http://10.0.0.7/x.png", "may not be fetched"),
        ("file:///etc/passwd", "may not be fetched"),
        ("{host}/missing.png", "HTTP 404"),
    ],
)
def test_image_urls_that_may_not_or_cannot_be_fetched_are_400(sdk, picture_host, url, said):
    reference = {"image_url": url.format(host=picture_host)}
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.videos.create(prompt="x", extra_body={"input_reference": reference})
    assert refused.value.param == "input_reference.image_url"
    assert said in refused.value.message


def test_delete_removes_the_video_and_cancels_a_running_one(sdk, server):
    running = sdk.videos.create(prompt="A long walk", seconds="30", extra_body=QUICK)
    gone = sdk.videos.delete(running.id)
    assert (gone.id, gone.deleted, gone.object) == (running.id, True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(running.id)
    job_id = running.id.removeprefix("video_")
    assert requests.get(f"{server}/api/progress/{job_id}", timeout=10).status_code == 404


def test_errors_arrive_as_the_sdks_exception_types(sdk, server):
    with pytest.raises(openai.BadRequestError) as bad_size:
        sdk.videos.create(prompt="x", size="640x480")  # type: ignore[arg-type]
    assert bad_size.value.body["param"] == "size"
    assert bad_size.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as no_gateway:
        sdk.videos.create(prompt="x", model="veo-9")
    assert no_gateway.value.code == "model_not_found" and no_gateway.value.param == "model"
    with pytest.raises(openai.BadRequestError) as short:
        sdk.videos.create(prompt="x", seconds="2")  # type: ignore[arg-type]
    assert short.value.param == "seconds"
    with pytest.raises(openai.BadRequestError) as empty:
        sdk.videos.create(prompt="")
    assert empty.value.param == "prompt"
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve("video_doesnotexist")
    with pytest.raises(openai.BadRequestError) as cursor:
        sdk.videos.list(after="video_doesnotexist")
    assert cursor.value.param == "after"
    queued = sdk.videos.create(prompt="Not yet", seconds="4", extra_body=QUICK)
    with pytest.raises(openai.ConflictError):
        sdk.videos.download_content(queued.id)
    bad = requests.get(f"{server}/v1/videos/{queued.id}/content?variant=gif", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "variant"
    sdk.videos.delete(queued.id)


@pytest.fixture(scope="module")
def strict(tmp_path_factory) -> Iterator[str]:
    yield from serve(
        tmp_path_factory.mktemp("v1_strict"), SORA_AUTH_MODE="required",
        SORA_SECRET_KEY="v1-strict-" + "k" * 40, SORA_RATE_LIMIT_REGISTER="100/hour",
    )  # fmt: skip


def _key(base: str, name: str) -> str:
    body = {"username": name, "password": "long enough"}
    token = requests.post(f"{base}/api/auth/register", json=body, timeout=10).json()
    made = requests.post(
        f"{base}/api/auth/api-keys", json={"name": "sdk"},
        headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10,
    )  # fmt: skip
    return made.json()["key"]


def test_required_mode_takes_an_api_key_and_keeps_users_apart(strict):
    anyone = openai.OpenAI(base_url=f"{strict}/v1", api_key="sk-anything", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anyone.videos.list()
    alice = openai.OpenAI(base_url=f"{strict}/v1", api_key=_key(strict, "alice"), max_retries=0)
    bob = openai.OpenAI(base_url=f"{strict}/v1", api_key=_key(strict, "bob"), max_retries=0)
    video = alice.videos.create(prompt="Alice's kite", seconds="4", extra_body=QUICK)
    with pytest.raises(openai.NotFoundError):
        bob.videos.retrieve(video.id)
    with pytest.raises(openai.NotFoundError):
        bob.videos.delete(video.id)
    assert [v.id for v in bob.videos.list().data] == []
    assert [v.id for v in alice.videos.list().data] == [video.id]
    alice.videos.delete(video.id)


@pytest.fixture(scope="module")
def gateway() -> Iterator[FakeUpstreams]:
    fake = FakeUpstreams(api_key=GATEWAY_KEY, video_seconds=0.5)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def relay(tmp_path_factory, gateway: FakeUpstreams) -> Iterator[str]:
    yield from serve(
        tmp_path_factory.mktemp("v1_relay"), SORA_VIDEO_API_BASE_URL=gateway.base_url,
        SORA_VIDEO_API_KEY=GATEWAY_KEY, SORA_VIDEO_API_POLL_SECONDS="0.1",
    )  # fmt: skip


def test_other_models_pass_through_to_the_gateway_and_remix_there(relay, gateway):
    sdk = openai.OpenAI(base_url=f"{relay}/v1", api_key="sk-anything", max_retries=0)
    video = sdk.videos.create_and_poll(
        prompt="A drone shot over a glacier", model="sora-2-pro-gateway", seconds="8",
        size="1792x1024", poll_interval_ms=200,
    )  # fmt: skip
    assert video.status == "completed", video.error
    assert (video.model, video.size, video.seconds) == ("sora-2-pro-gateway", "1792x1024", "8")
    sent = gateway.requests("videos_create")[-1]
    assert sent["json"]["model"] == "sora-2-pro-gateway" and sent["json"]["size"] == "1792x1024"
    assert GATEWAY_KEY not in video.model_dump_json()
    remix = sdk.videos.poll(
        sdk.videos.remix(video.id, prompt="Now at sunset").id, poll_interval_ms=200
    )
    assert remix.status == "completed" and remix.remixed_from_video_id == video.id
    remixed = gateway.requests("videos_remix")
    assert remixed and remixed[-1]["json"] == {"prompt": "Now at sunset"}
