"""Trickles, cancels and one-off glitches against the fake upstreams, over real loopback HTTP.

The fake trickles a byte every 20 ms, so a per-recv read timeout (5 s here) never fires:
only the call's wall-clock deadline (0.4 s) or the cancel can end it. Cancels are driven by
an Event set when the fake reports that its trickle has started, never by a sleep.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.pipeline.types import Cancelled, ImageSpec, StoryRequest
from sora_app.providers.http import UpstreamBadResponse, UpstreamClient, UpstreamDeadline
from sora_app.providers.remote_images import generate_scene_image
from sora_app.providers.remote_script import write_script_remote
from sora_app.providers.remote_tts import synthesize_remote
from sora_app.providers.stock import fetch_stock_image, search_stock
from tests.fakes import make_client, reset, serving

KEY = "sk-test-DEADLINE-0123456789abcdef"
DEADLINE = 0.4
REQ = StoryRequest(topic="The Vanishing Lighthouse", num_scenes=2)
SPEC = ImageSpec(style="cinematic", width=108, height=192)

Call = Callable[[UpstreamClient, Path], Any]
CALLS: dict[str, Call] = {
    "chat": lambda c, tmp: write_script_remote(REQ, c, "gpt-4o-mini", fallback=False),
    "images": lambda c, tmp: generate_scene_image(
        c, "gpt-image-1", "a lighthouse in fog", SPEC, tmp / "scene.jpg", 10**7
    ),
    "speech": lambda c, tmp: synthesize_remote(c, "tts-1", "onyx", "The fog rolled in."),
    "search": lambda c, tmp: search_stock(c, ["forest"], "portrait", 1),
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstreams]:
    with serving(api_key=KEY, retry_after_ms=30, trickle_seconds=0.02) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeUpstreams) -> None:
    reset(fake)


def client(fake: FakeUpstreams, **overrides: Any) -> UpstreamClient:
    """Read timeout far above the deadline: if anything stops a trickle, it is the deadline."""
    settings = {"read_timeout": 5.0, "max_attempts": 3, "max_total_seconds": DEADLINE}
    return make_client(fake.base_url, KEY, "test upstream", **{**settings, **overrides})


def cancel_once_trickling(fake: FakeUpstreams) -> threading.Event:
    """The job's cancel flag, set from another thread (as the API does) once bytes trickle."""
    cancel = threading.Event()

    def watch() -> None:
        if fake.trickling.wait(10):
            cancel.set()

    threading.Thread(target=watch, daemon=True).start()
    return cancel


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_trickling_body_trips_the_deadline(fake: FakeUpstreams, tmp_path: Path, kind: str) -> None:
    fake.set_fault(kind, "trickle")
    with client(fake) as upstream, pytest.raises(UpstreamDeadline) as caught:
        CALLS[kind](upstream, tmp_path)
    err = caught.value
    assert err.code == "UPSTREAM_TIMEOUT" and err.status_hint == 504
    assert f"did not finish answering within the {DEADLINE:g} s deadline" in err.message
    assert err.details["phase"] == "deadline" and "received_bytes" in err.details
    assert fake.wait_hangup(kind, 5), "the client must hang up while the body trickles"
    assert fake.count(kind) == 1, "a deadline is final: no retry after it"
    assert list(tmp_path.iterdir()) == []


def test_trickling_status_line_trips_the_deadline(fake: FakeUpstreams, tmp_path: Path) -> None:
    """Before any header has arrived: the socket is shut under the blocked read."""
    fake.set_fault("chat", "trickle_headers")
    with client(fake) as upstream, pytest.raises(UpstreamDeadline) as caught:
        CALLS["chat"](upstream, tmp_path)
    assert caught.value.details["received_bytes"] == 0
    assert fake.wait_hangup("chat", 5)
    assert fake.count("chat") == 1


@pytest.mark.parametrize(
    ("kind", "fault"),
    [(kind, "trickle") for kind in sorted(CALLS)] + [("chat", "trickle_headers")],
)
def test_cancel_stops_a_trickling_call(
    fake: FakeUpstreams, tmp_path: Path, kind: str, fault: str
) -> None:
    """A deadline far away (5 s): only the cancel can stop the call as Cancelled."""
    fake.set_fault(kind, fault)
    cancel = cancel_once_trickling(fake)
    with client(fake, max_total_seconds=5.0) as upstream, pytest.raises(Cancelled):
        CALLS[kind](upstream.with_cancel(cancel.is_set), tmp_path)
    assert fake.wait_hangup(kind, 5), "a cancel must close the connection"
    assert fake.count(kind) == 1


@pytest.mark.parametrize(
    ("kind", "fault"),
    [
        ("chat", "malformed_json"),
        ("chat", "truncated"),
        ("images", "malformed_json"),
        ("speech", "truncated"),
        ("search", "malformed_json"),
    ],
)
def test_one_glitch_is_retried_and_the_call_succeeds(
    fake: FakeUpstreams, tmp_path: Path, kind: str, fault: str
) -> None:
    fake.set_fault(kind, fault, count=1)
    with client(fake, max_total_seconds=5.0) as upstream:
        assert CALLS[kind](upstream, tmp_path)
    assert [e["fault"] for e in fake.requests(kind)] == [fault, None]


def test_one_truncated_download_is_retried(fake: FakeUpstreams, tmp_path: Path) -> None:
    with client(fake, max_total_seconds=5.0) as upstream:
        (url,) = search_stock(upstream, ["forest"], "portrait", 1)
        fake.set_fault("media", "truncated", count=1)
        dest = fetch_stock_image(upstream, url, SPEC, tmp_path / "scene.jpg", 10**7)
    assert dest.is_file() and fake.count("media") == 2


def test_persistent_malformed_json_fails_clearly(fake: FakeUpstreams, tmp_path: Path) -> None:
    fake.set_fault("chat", "malformed_json")
    with client(fake, max_total_seconds=5.0) as upstream, pytest.raises(UpstreamBadResponse) as e:
        CALLS["chat"](upstream, tmp_path)
    assert "returned malformed JSON" in e.value.message and "(3 attempts)" in e.value.message
    assert e.value.details["attempts"] == 3 and fake.count("chat") == 3


def test_persistent_truncation_reports_the_bytes_received(
    fake: FakeUpstreams, tmp_path: Path
) -> None:
    """The fake sends exactly half of the body it promises: the message must say so."""
    with client(fake, max_total_seconds=5.0) as upstream:
        (url,) = search_stock(upstream, ["forest"], "portrait", 1)
        fake.set_fault("media", "truncated")
        with pytest.raises(UpstreamBadResponse) as caught:
            fetch_stock_image(upstream, url, SPEC, tmp_path / "scene.jpg", 10**7)
    found = re.search(r"truncated download \((\d+) of (\d+) bytes\)", caught.value.message)
    assert found, caught.value.message
    received, promised = int(found[1]), int(found[2])
    assert received == promised // 2 > 0
    assert caught.value.details["received_bytes"] == received
    assert fake.count("media") == 3 and list(tmp_path.iterdir()) == []
