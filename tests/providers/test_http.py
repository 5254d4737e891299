"""UpstreamClient and HealthProbe against the fake upstreams, over real loopback HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.providers.http import (
    HealthProbe,
    UpstreamBadResponse,
    UpstreamClient,
    UpstreamError,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.fakes import make_client as shared_client
from tests.fakes import reset, serving

KEY = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeUpstreams]:
    with serving(api_key=KEY, video_seconds=0.3, slow_seconds=1.0, retry_after_ms=30) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeUpstreams) -> None:
    reset(fake)
    fake.retry_after_ms = 30


def make_client(base_url: str, **overrides: object) -> UpstreamClient:
    settings = {"read_timeout": 2.0, "max_attempts": 4, **overrides}
    key = settings.pop("api_key", KEY)
    return shared_client(base_url, key, "video API", **settings)


@pytest.fixture
def client(fake: FakeUpstreams) -> Iterator[UpstreamClient]:
    upstream = make_client(fake.base_url)
    yield upstream
    upstream.close()


def assert_no_key(err: UpstreamError) -> None:
    assert KEY not in err.message
    assert KEY not in repr(err.details)
    assert KEY not in repr(err.to_dict())


def test_retries_503_then_succeeds(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.set_fault("models", "503", count=2)
    body = client.get_json("models")
    assert body["object"] == "list"
    assert [e["status"] for e in fake.requests("models")] == [503, 503, 200]


def test_429_honours_retry_after_ms(
    fake: FakeUpstreams, client: UpstreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.set_fault("chat", "429", count=1)
    caplog.set_level(logging.INFO, logger="sora_app.providers")
    body = client.post_json(
        "chat/completions", json={"messages": [{"role": "user", "content": "x"}]}
    )
    assert body["choices"][0]["message"]["content"]
    assert fake.count("chat") == 2
    assert "cause=status=429 wait_s=0.03" in caplog.text


def test_retry_after_beyond_budget_gives_up(fake: FakeUpstreams) -> None:
    fake.retry_after_ms = 2000
    fake.set_fault("models", "429")
    with (
        make_client(fake.base_url, max_total_seconds=0.5) as upstream,
        pytest.raises(UpstreamRejected) as caught,
    ):
        upstream.get_json("models")
    assert caught.value.status_hint == 429
    assert caught.value.details["retry_after"] == "2"
    assert fake.count("models") == 1


def test_refused_port_is_unavailable_fast() -> None:
    base_url = FakeUpstreams.refused_base_url()
    host = base_url.split("/")[2]
    with (
        make_client(base_url, max_attempts=3) as upstream,
        pytest.raises(UpstreamUnavailable) as caught,
    ):
        upstream.get_json("models")
    err = caught.value
    assert err.code == "UPSTREAM_UNAVAILABLE" and err.status_hint == 503
    assert f"the video API at {host} is unreachable" in err.message
    assert "connection refused" in err.message
    assert err.details["attempts"] == 3
    assert base_url in err.details["suggestion"]
    assert_no_key(err)


def test_unresolvable_host_is_unavailable() -> None:
    with (
        make_client("http://no-such-host.invalid/v1", max_attempts=1) as upstream,
        pytest.raises(UpstreamUnavailable) as caught,
    ):
        upstream.get_json("models")
    assert "no-such-host.invalid" in caught.value.message


def test_slow_upstream_times_out_naming_the_timeout(fake: FakeUpstreams) -> None:
    fake.set_fault("models", "slow")
    with (
        make_client(fake.base_url, read_timeout=0.2, max_attempts=2) as upstream,
        pytest.raises(UpstreamTimeout) as caught,
    ):
        upstream.get_json("models")
    err = caught.value
    assert err.status_hint == 504
    assert "0.2 s read timeout" in err.message and "2 attempts" in err.message
    assert err.details["timeout_seconds"] == 0.2 and err.details["attempts"] == 2


def test_400_keeps_upstream_message(fake: FakeUpstreams, client: UpstreamClient) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        client.post_json("videos", json={"prompt": "a lighthouse", "seconds": "5"})
    err = caught.value
    assert err.status_hint == 400 and err.code == "UPSTREAM_REJECTED"
    assert "Invalid value for seconds: '5'." in err.message
    assert err.details["upstream_message"] == "Invalid value for seconds: '5'."
    assert fake.count("videos_create") == 1


def test_wrong_key_is_refused_and_never_echoed(
    fake: FakeUpstreams, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-wrong-key-9876543210"
    caplog.set_level(logging.DEBUG)
    with (
        make_client(fake.base_url, api_key=wrong) as upstream,
        pytest.raises(UpstreamRejected) as caught,
    ):
        upstream.get_json("models")
    err = caught.value
    assert err.message.startswith("the API key for the video API at 127.0.0.1:")
    assert "was refused (HTTP 401" in err.message
    assert err.status_hint == 502 and err.details["upstream_status"] == 401
    for text in (err.message, repr(err.details), caplog.text):
        assert wrong not in text
    assert "***" in err.message


def test_5xx_exhausted_is_server_error(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.set_fault("models", "502")
    with pytest.raises(UpstreamServerError) as caught:
        client.get_json("models")
    assert caught.value.status_hint == 502 and caught.value.code == "UPSTREAM_ERROR"
    assert caught.value.details["attempts"] == 4
    assert fake.count("models") == 4


def test_malformed_json_is_bad_response(fake: FakeUpstreams, client: UpstreamClient) -> None:
    with pytest.raises(UpstreamBadResponse):
        client.get_json("models", headers={"X-Fake-Fault": "malformed_json"})


def test_x_should_retry_false_stops_retries(fake: FakeUpstreams, client: UpstreamClient) -> None:
    fake.set_fault("models", "503:noretry")
    with pytest.raises(UpstreamServerError) as caught:
        client.get_json("models")
    assert caught.value.status_hint == 503
    assert fake.count("models") == 1


def test_total_time_budget_bounds_attempts(fake: FakeUpstreams) -> None:
    fake.set_fault("models", "500")
    settings = {"max_attempts": 10, "backoff": 0.3, "max_total_seconds": 0.5}
    with make_client(fake.base_url, **settings) as upstream, pytest.raises(UpstreamServerError):
        upstream.get_json("models")
    # waits are 0.225-0.3 s then 0.45-0.6 s: only the first fits in 0.5 s.
    assert fake.count("models") == 2


def test_download_is_atomic_and_checks_length(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
) -> None:
    url = f"{fake.root_url}/media/photos/7-320x200.jpeg"
    dest = client.download(url, tmp_path / "photo.jpg", max_bytes=1_000_000)
    assert dest.read_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(UpstreamBadResponse, match="truncated"):
        client.download(url, tmp_path / "cut.jpg", 1_000_000, headers={"X-Fake-Fault": "truncated"})
    with pytest.raises(UpstreamBadResponse, match="more than the 100 bytes"):
        client.download(url, tmp_path / "big.jpg", max_bytes=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]


def test_key_only_sent_to_own_host(
    fake: FakeUpstreams, client: UpstreamClient, tmp_path: Path
) -> None:
    other_host = fake.root_url.replace("127.0.0.1", "localhost")
    client.download(f"{other_host}/media/photos/8-64x64.jpeg", tmp_path / "a.jpg", 10**6)
    client.download(f"{fake.root_url}/media/photos/8-64x64.jpeg", tmp_path / "b.jpg", 10**6)
    assert [e["auth"] for e in fake.requests("media")] == [False, True]


def test_key_never_in_logs_or_errors(
    fake: FakeUpstreams, client: UpstreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for fault in ("500", "400", "malformed_json", "401", "truncated", "disconnect"):
        with pytest.raises(UpstreamError) as caught:
            client.get_json("models", headers={"X-Fake-Fault": fault})
        assert_no_key(caught.value)
    assert KEY not in caplog.text
    assert KEY not in repr(client)


def test_health_probe_caches_success(fake: FakeUpstreams, client: UpstreamClient) -> None:
    probe = HealthProbe(client, "models", ttl_seconds=30)
    first, second = probe.check(), probe.check()
    assert first["ok"] and first == second
    assert set(first) >= {"ok", "latency_ms", "message", "checked_at"}
    assert fake.count("models") == 1


def test_health_probe_caches_failure_without_retrying(
    fake: FakeUpstreams, client: UpstreamClient
) -> None:
    fake.set_fault("models", "503")
    probe = HealthProbe(client, "models", ttl_seconds=30)
    first = probe.check()
    assert not first["ok"] and "HTTP 503" in first["message"]
    assert probe.check() == first and probe.known_down()
    assert fake.count("models") == 1


def test_health_probe_refused_is_down_and_cached() -> None:
    with make_client(FakeUpstreams.refused_base_url()) as upstream:
        probe = HealthProbe(upstream, "models", ttl_seconds=30, timeout=(0.2, 0.2))
        result = probe.check()
        assert not result["ok"] and "unreachable" in result["message"]
        assert probe.check()["checked_at"] == result["checked_at"]


def test_health_probe_expires(fake: FakeUpstreams, client: UpstreamClient) -> None:
    probe = HealthProbe(client, "models", ttl_seconds=0)
    probe.check()
    probe.check()
    assert fake.count("models") == 2
