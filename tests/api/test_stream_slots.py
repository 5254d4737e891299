"""Live-update slots through a real server: nothing a client does can keep them taken.

Before the fix, HEAD requests and refused Last-Event-IDs kept their slots forever, idle
anonymous WebSockets held slots, and one user could take them all.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
import requests
from simple_websocket import ConnectionClosed

from tests.api.test_ws import SECRET, Socket, register
from tests.conftest import serve

MAX_STREAMS = 3
PER_USER = 2
HANG_GUARD = 20.0
"""Seconds before a test gives up waiting; the server's heartbeat (60 s) is far beyond it."""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    yield from serve(
        tmp_path_factory.mktemp("slots"), SORA_AUTH_MODE="required", SORA_SECRET_KEY=SECRET,
        SORA_MAX_EVENT_STREAMS=str(MAX_STREAMS), SORA_MAX_STREAMS_PER_USER=str(PER_USER),
        SORA_EVENT_POLL_SECONDS="0.1", SORA_EVENT_HEARTBEAT_SECONDS="60",
        SORA_WS_AUTH_SECONDS="1", SORA_RATE_LIMIT_REGISTER="100 per hour",
    )  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def sse(base: str, token: str) -> Iterator[requests.Response]:
    with requests.get(f"{base}/api/events", headers=bearer(token), stream=True, timeout=10) as r:
        yield r


def wait_for_stream(base: str, token: str) -> None:
    """Open a stream once a slot is free again; fail after HANG_GUARD."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        with sse(base, token) as response:
            if response.status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError("no stream slot came free")


def test_head_and_refused_requests_take_no_slot(server):
    token, _ = register(server, "hedda")
    for _ in range(3 * MAX_STREAMS):
        head = requests.head(f"{server}/api/events", headers=bearer(token), timeout=10)
        assert head.status_code == 200
    for bad in ("²", "9" * 30, "12x"):
        for _ in range(MAX_STREAMS):
            refused = requests.get(
                f"{server}/api/events", headers={**bearer(token), "Last-Event-ID": bad}, timeout=10
            )
            assert refused.status_code == 400 and refused.json()["field"] == "Last-Event-ID"
    with sse(server, token) as response:
        assert response.status_code == 200


def test_a_client_that_disconnects_frees_its_slot_before_any_heartbeat(server):
    tokens = [register(server, f"dora{index}")[0] for index in range(MAX_STREAMS)]
    streams = [requests.get(f"{server}/api/events", headers=bearer(t), stream=True, timeout=10)
               for t in tokens]  # fmt: skip
    assert [s.status_code for s in streams] == [200] * MAX_STREAMS
    with sse(server, register(server, "dora_late")[0]) as full:
        assert full.status_code == 429 and full.json()["error"] == "TOO_MANY_STREAMS"
    for stream in streams:
        stream.close()
    wait_for_stream(server, tokens[0])


def test_one_user_cannot_take_every_slot(server):
    greedy, _ = register(server, "greta")
    with contextlib.ExitStack() as stack:
        for _ in range(PER_USER):
            assert stack.enter_context(sse(server, greedy)).status_code == 200
        with sse(server, greedy) as third:
            assert third.status_code == 429
        with sse(server, register(server, "other")[0]) as other:
            assert other.status_code == 200


def test_anonymous_sockets_hold_no_slot_and_are_closed(server):
    sockets = [Socket(server) for _ in range(MAX_STREAMS + 2)]
    try:
        for socket in sockets:
            assert socket.next()["type"] == "connected"
        token, _ = register(server, "wanda")
        with sse(server, token) as stream:
            assert stream.status_code == 200, "anonymous sockets count for nothing"
        late = Socket(server)
        late.next("connected")
        late.send("auth", {"token": token})
        assert late.next("authSuccess", "error")["type"] == "authSuccess"
        late.close()
        for socket in sockets:
            error = socket.next("error")["payload"]
            assert error["code"] == "AUTH_TIMEOUT"
            assert socket.closed()
    finally:
        for socket in sockets:
            with contextlib.suppress(ConnectionClosed):
                socket.close()
