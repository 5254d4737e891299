"""External renders against a trickling or glitching fake Videos API, over real loopback HTTP.

Each call has a 0.4 s wall-clock deadline and a 5 s read timeout, and the fake trickles a byte
every 20 ms: only the deadline (or a cancel) can end a trickle. Cancels are driven by an Event
set when the fake says its trickle has started.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.pipeline.sora import ExternalRequest, render_external
from sora_app.pipeline.types import Cancelled, StageError, VideoInfo
from sora_app.providers.http import UpstreamClient
from tests.fakes import reset, serving
from tests.providers.test_upstream_deadlines import cancel_once_trickling

KEY = "sk-sora-deadline-key-123456"
DEADLINE = 0.4
LIMITS = {"poll_seconds": 0.05, "max_wait_seconds": 15.0, "max_download_bytes": 50_000_000}
REQUEST = ExternalRequest(prompt="a lighthouse in fog", model="sora-2", seconds=4)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstreams]:
    with serving(api_key=KEY, video_seconds=0.3, trickle_seconds=0.02) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeUpstreams) -> None:
    reset(fake)


def client(fake: FakeUpstreams, deadline: float = DEADLINE) -> UpstreamClient:
    return UpstreamClient("video API", fake.base_url, KEY, 0.5, 5.0, 3, deadline, 0.01)


def render(upstream: UpstreamClient, out: Path, cancel: threading.Event | None = None) -> VideoInfo:
    should_cancel = cancel.is_set if cancel is not None else (lambda: False)
    return render_external(upstream, REQUEST, out, lambda f, s: None, should_cancel, **LIMITS)


def stored_videos(fake: FakeUpstreams) -> int:
    return len(fake.videos.page(None, 10_000, "asc")[0])


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("videos_create", "UPSTREAM_TIMEOUT"),
        ("videos_get", "UPSTREAM_TIMEOUT"),
        ("videos_content", "EXTERNAL_DOWNLOAD_FAILED"),
    ],
)
def test_trickling_video_api_trips_the_deadline(
    fake: FakeUpstreams, tmp_path: Path, kind: str, code: str
) -> None:
    fake.set_fault(kind, "trickle")
    out = tmp_path / "out.mp4"
    with client(fake) as upstream, pytest.raises(StageError) as caught:
        render(upstream, out)
    assert caught.value.code == code
    assert f"did not finish answering within the {DEADLINE:g} s deadline" in caught.value.message
    assert fake.wait_hangup(kind, 5), "the connection must be closed when the deadline trips"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kind", "deletes"), [("videos_create", 0), ("videos_get", 1), ("videos_content", 1)]
)
def test_cancel_stops_a_trickling_video_call(
    fake: FakeUpstreams, tmp_path: Path, kind: str, deletes: int
) -> None:
    """The deadline is 5 s away: only the cancel can end the trickle as Cancelled."""
    fake.set_fault(kind, "trickle")
    cancel = cancel_once_trickling(fake)
    with client(fake, deadline=5.0) as upstream, pytest.raises(Cancelled):
        render(upstream, tmp_path / "out.mp4", cancel)
    assert fake.wait_hangup(kind, 5), "a cancel must close the connection"
    assert fake.count("videos_delete") == deletes, "a known upstream video is deleted"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kind", "fault"),
    [
        ("videos_create", "malformed_json"),
        ("videos_get", "bad_poll"),
        ("videos_get", "malformed_json"),
        ("videos_get", "truncated"),
        ("videos_content", "truncated"),
    ],
)
def test_one_glitch_is_retried_and_the_render_completes(
    fake: FakeUpstreams, tmp_path: Path, kind: str, fault: str
) -> None:
    fake.set_fault(kind, fault, count=1)
    out = tmp_path / "out.mp4"
    videos_before = stored_videos(fake)
    with client(fake, deadline=5.0) as upstream:
        info = render(upstream, out)
    assert info.path == out and out.stat().st_size > 0 and info.duration > 3
    assert [e["fault"] for e in fake.requests(kind)][:2] == [fault, None]
    assert stored_videos(fake) == videos_before + 1, "exactly one upstream video"


def test_persistent_bad_poll_fails_clearly(fake: FakeUpstreams, tmp_path: Path) -> None:
    fake.set_fault("videos_get", "bad_poll")
    with client(fake, deadline=5.0) as upstream, pytest.raises(StageError) as caught:
        render(upstream, tmp_path / "out.mp4")
    assert caught.value.code == "UPSTREAM_BAD_RESPONSE"
    assert "returned a video without a status (3 attempts)" in caught.value.message
    assert fake.count("videos_get") == 3
