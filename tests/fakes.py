"""Shared scaffolding for tests that talk to the fake hosted services over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.providers.http import UpstreamClient

CLIENT_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 0.5,
    "read_timeout": 5.0,
    "max_attempts": 2,
    "max_total_seconds": 5.0,
    "backoff": 0.01,
}
"""Tiny timeouts and backoffs: tests assert on attempts, never on how long they took."""


@contextmanager
def serving(**options: Any) -> Iterator[FakeUpstreams]:
    """A started FakeUpstreams (options as its constructor takes them), stopped afterwards."""
    server = FakeUpstreams(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def reset(fake: FakeUpstreams) -> None:
    """Between tests: no faults left armed, an empty request log."""
    fake.clear_faults()
    fake.clear_log()


def make_client(base_url: str, api_key: str, name: str = "test upstream", **overrides: Any):
    return UpstreamClient(name, base_url, api_key, **{**CLIENT_DEFAULTS, **overrides})
