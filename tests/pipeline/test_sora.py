"""External video mode against a real fake Videos API over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.pipeline.probe import probe
from sora_app.pipeline.sora import (
    SIZES,
    ExternalRequest,
    render_external,
    size_for_aspect,
)
from sora_app.pipeline.types import Cancelled, StageError
from sora_app.providers.http import UpstreamClient
from tests.fakes import reset, serving

KEY = "sk-sora-test-key-123456"
LIMITS = {"poll_seconds": 0.1, "max_wait_seconds": 15.0, "max_download_bytes": 50_000_000}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstreams]:
    with serving(api_key=KEY, video_seconds=1.0, slow_seconds=1.0, retry_after_ms=30) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeUpstreams) -> Iterator[None]:
    reset(fake)
    yield
    fake.poll_after_ms = None  # type: ignore[attr-defined]


def make_client(base_url: str) -> UpstreamClient:
    return UpstreamClient("video API", base_url, KEY, 0.5, 5.0, 4, 5.0, 0.01)


@pytest.fixture
def client(fake: FakeUpstreams) -> Iterator[UpstreamClient]:
    with make_client(fake.base_url) as upstream:
        yield upstream


class Recorder:
    """Collects progress reports and created ids; can ask for a cancel on a substatus."""

    def __init__(self, cancel_on: str | None = None) -> None:
        self.reports: list[tuple[float, str]] = []
        self.created: list[str] = []
        self.cancel_on = cancel_on
        self.cancelled = False

    def progress(self, fraction: float, substatus: str) -> None:
        self.reports.append((fraction, substatus))
        if self.cancel_on and self.cancel_on in substatus:
            self.cancelled = True

    def should_cancel(self) -> bool:
        return self.cancelled


def run(client: UpstreamClient, req: ExternalRequest, out: Path, rec: Recorder, **kw: object):
    limits = LIMITS | kw
    return render_external(
        client, req, out, rec.progress, rec.should_cancel, on_created=rec.created.append, **limits
    )


def text_request(**kw: object) -> ExternalRequest:
    fields: dict = {"prompt": "a lighthouse in fog", "model": "sora-2", "seconds": 4}
    return ExternalRequest(**(fields | kw))


def test_text_only_job_completes(fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path):
    rec = Recorder()
    out = tmp_path / "videos" / "job1.mp4"
    info = run(client, text_request(), out, rec)
    fractions = [f for f, _ in rec.reports]
    assert fractions == sorted(fractions) and fractions[0] < 1 and fractions[-1] == 1.0
    host = client.target.host
    substatuses = [s for _, s in rec.reports]
    assert any(s.startswith(f"Rendering on {host}: ") and s.endswith("%") for s in substatuses)
    media = probe(out)
    assert media.video_codec == "h264" and (media.width, media.height) == (720, 1280)
    assert info.path == out and info.size_bytes == out.stat().st_size > 0
    assert (info.width, info.height) == (720, 1280) and 3.5 < info.duration < 4.5
    assert info.thumbnail == out.with_suffix(".jpg")
    with Image.open(info.thumbnail) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (720, 1280)
    created = fake.requests("videos_create")
    assert len(created) == 1 and created[0]["content_type"] == "application/json"
    assert rec.created == [fake.videos.page(None, 1, "desc")[0][0].id]
    assert sorted(p.name for p in out.parent.iterdir()) == ["job1.jpg", "job1.mp4"]


def test_reference_image_is_cover_fitted_and_sent_multipart(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
):
    reference = tmp_path / "ref.png"
    Image.new("RGBA", (500, 500), (200, 30, 30, 255)).save(reference)
    req = text_request(size="1280x720", reference_image=reference)
    info = run(client, req, tmp_path / "ref.mp4", Recorder())
    (entry,) = fake.requests("videos_create")
    assert entry["content_type"] == "multipart/form-data" and entry["status"] == 200
    assert entry["input_reference"] == {"format": "JPEG", "size": "1280x720"}
    assert (info.width, info.height) == (1280, 720)


def test_upstream_failure_keeps_its_code_and_message(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
):
    fake.set_fault("videos_create", "failed", 1)
    out = tmp_path / "failed.mp4"
    with pytest.raises(StageError) as caught:
        run(client, text_request(), out, Recorder())
    assert caught.value.code == "EXTERNAL_VIDEO_GENERATION_FAILED"
    assert "The fake upstream failed it." in caught.value.message
    assert not out.exists() and fake.count("videos_content") == 0


@pytest.mark.parametrize("fault", ["content_404", "truncated"])
def test_bad_download_fails_without_leaving_files(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path, fault: str
):
    fake.set_fault("videos_content", fault)  # every attempt: one truncation alone is retried
    out = tmp_path / "out" / "bad.mp4"
    with pytest.raises(StageError) as caught:
        run(client, text_request(), out, Recorder())
    assert caught.value.code == "EXTERNAL_DOWNLOAD_FAILED"
    assert client.target.host in caught.value.message
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_refused_upstream_names_the_host(tmp_path: Path):
    with make_client(FakeUpstreams.refused_base_url()) as refused:
        with pytest.raises(StageError) as caught:
            run(refused, text_request(), tmp_path / "x.mp4", Recorder())
        assert caught.value.code == "UPSTREAM_UNAVAILABLE"
        assert refused.target.host in caught.value.message
    assert KEY not in caught.value.message and KEY not in str(caught.value)


@pytest.mark.parametrize("status", ["429", "503"])
def test_transient_poll_errors_are_retried(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path, status: str
):
    fake.set_fault("videos_get", status, 2)
    info = run(client, text_request(), tmp_path / "retried.mp4", Recorder())
    assert info.size_bytes > 0
    statuses = [e["status"] for e in fake.requests("videos_get")]
    assert statuses.count(int(status)) == 2 and statuses[-1] == 200


def test_cancel_mid_render_deletes_upstream(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
):
    rec = Recorder(cancel_on="Rendering on")
    out = tmp_path / "cancelled.mp4"
    with pytest.raises(Cancelled):
        run(client, text_request(), out, rec)
    (video_id,) = rec.created
    deletes = fake.requests("videos_delete")
    assert [(e["method"], e["path"], e["status"]) for e in deletes] == [
        ("DELETE", f"/v1/videos/{video_id}", 200)
    ]
    assert fake.videos.get(video_id) is None
    assert not out.exists() and fake.count("videos_content") == 0


def test_cancel_before_creation_creates_nothing(fake: FakeUpstreams, client: UpstreamClient):
    rec = Recorder()
    rec.cancelled = True
    with pytest.raises(Cancelled):
        run(client, text_request(), Path("unused.mp4"), rec)
    assert fake.count() == 0 and rec.created == []


def test_resume_polls_the_existing_video(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
):
    video_id = client.post_json("videos", json={"prompt": "resume me", "seconds": "4"})["id"]
    fake.clear_log()
    rec = Recorder()
    info = render_external(
        client,
        text_request(),
        tmp_path / "resumed.mp4",
        rec.progress,
        rec.should_cancel,
        on_created=rec.created.append,
        resume_id=video_id,
        **LIMITS,
    )
    assert info.size_bytes > 0 and rec.created == []
    assert fake.count("videos_create") == 0
    assert {e["path"] for e in fake.requests("videos_get")} == {f"/v1/videos/{video_id}"}


def test_max_wait_exceeded_times_out_and_cancels_upstream(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
):
    out = tmp_path / "slow.mp4"
    rec = Recorder()
    with pytest.raises(StageError) as caught:
        run(client, text_request(), out, rec, max_wait_seconds=0.2)
    assert caught.value.code == "EXTERNAL_TIMEOUT"
    assert client.target.host in caught.value.message
    assert fake.count("videos_delete") == 1 and not out.exists()


def test_poll_after_header_is_honoured(fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path):
    fake.poll_after_ms = 100  # type: ignore[attr-defined]
    info = run(client, text_request(), tmp_path / "hinted.mp4", Recorder(), poll_seconds=5.0)
    assert info.size_bytes > 0
    # With the 5 s interval alone the 1 s render would be seen by one or two polls.
    assert fake.count("videos_get") >= 4


def test_rejected_key_is_a_clear_error_without_the_key(fake: FakeUpstreams, tmp_path: Path):
    wrong = "sk-wrong-key-abcdef"
    bad = UpstreamClient("video API", fake.base_url, wrong, 0.5, 5.0, 2, 5.0, 0.01)
    with bad, pytest.raises(StageError) as caught:
        run(bad, text_request(), tmp_path / "x.mp4", Recorder())
    assert caught.value.code == "UPSTREAM_REJECTED"
    assert wrong not in caught.value.message and "API key" in caught.value.message


def test_invalid_requests_fail_before_any_call(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
):
    for bad in (
        text_request(size="640x480"),
        text_request(prompt="  "),
        text_request(model=""),
        text_request(reference_image=tmp_path / "missing.png"),
    ):
        with pytest.raises(StageError) as caught:
            run(client, bad, tmp_path / "x.mp4", Recorder())
        assert caught.value.code == "EXTERNAL_BAD_REQUEST"
    unreadable = tmp_path / "broken.png"
    unreadable.write_bytes(b"not an image")
    with pytest.raises(StageError) as caught:
        run(client, text_request(reference_image=unreadable), tmp_path / "x.mp4", Recorder())
    assert caught.value.code == "BAD_REFERENCE_IMAGE"
    assert fake.count() == 0


def test_size_for_aspect():
    assert size_for_aspect("9:16") == "720x1280"
    assert size_for_aspect("16:9") == "1280x720"
    assert size_for_aspect("1:1") == "720x1280"
    assert size_for_aspect("4:3") == "1280x720"
    assert all(size_for_aspect(a) in SIZES for a in ("9:16", "16:9", "1:1", "21:9"))
    with pytest.raises(StageError):
        size_for_aspect("wide")
