"""The /ws live channel through a real gunicorn server and a real WebSocket client."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import jwt as pyjwt
import pytest
import requests
from simple_websocket import Client, ConnectionClosed

from tests.conftest import serve

HANG_GUARD = 60.0
"""Seconds before a missing message fails the test instead of hanging it (not a timing check)."""
MAX_SOCKETS = 4
SECRET = "ws-test-secret-" + "s" * 32
"""The servers' signing key, so a test can mint tokens the way the server does."""


def _serve(tmp, **extra: str) -> Iterator[str]:
    yield from serve(
        tmp, SORA_EVENT_POLL_SECONDS="0.1", SORA_EVENT_HEARTBEAT_SECONDS="1",
        SORA_MAX_EVENT_STREAMS=str(MAX_SOCKETS), SORA_JOB_WORKERS="2",
        SORA_SECRET_KEY=SECRET, SORA_RATE_LIMIT_REGISTER="100 per hour", **extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def ws_server(tmp_path_factory) -> Iterator[str]:
    yield from _serve(tmp_path_factory.mktemp("ws"))


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory) -> Iterator[str]:
    yield from _serve(tmp_path_factory.mktemp("ws_strict"), SORA_AUTH_MODE="required")


class FlushingClient(Client):
    """simple_websocket's client leaves frames that came with the handshake unread until more
    data arrives; a server that answers and closes at once (a refusal) would lose them."""

    def handshake(self) -> None:
        super().handshake()
        self._handle_events()  # queue the frames already received
        self.connected = True  # a queued close still ends the socket, after its messages


class Socket:
    """A test client speaking contract 2's {type, timestamp, payload} messages."""

    def __init__(self, base: str, query: str = "") -> None:
        self.ws = FlushingClient.connect(base.replace("http://", "ws://") + "/ws" + query)

    def send(self, kind: str, payload: dict | None = None) -> None:
        self.ws.send(json.dumps({"type": kind, "payload": payload or {}}))

    def next(self, *kinds: str, skip_pings: bool = True) -> dict:
        """The next message (of one of `kinds`, if given); earlier ones are dropped."""
        deadline = time.monotonic() + HANG_GUARD
        while time.monotonic() < deadline:
            raw = self.ws.receive(timeout=deadline - time.monotonic())
            if raw is None:
                break
            message = json.loads(raw)
            assert set(message) == {"type", "timestamp", "payload"}
            if skip_pings and message["type"] == "ping" and "ping" not in kinds:
                continue
            if not kinds or message["type"] in kinds:
                return message
        raise AssertionError(f"no {kinds or 'message'} arrived")

    def closed(self) -> bool:
        """Drain until the server closes the socket (True) or the guard runs out."""
        try:
            deadline = time.monotonic() + HANG_GUARD
            while time.monotonic() < deadline:
                self.ws.receive(timeout=1)
        except ConnectionClosed:
            return True
        return False

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def connect(ws_server):
    opened: list[Socket] = []

    def open_socket(query: str = "", base: str = ws_server) -> Socket:
        socket = Socket(base, query)
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        with contextlib.suppress(ConnectionClosed):
            socket.close()


def register(base: str, name: str) -> tuple[str, str]:
    body = requests.post(
        f"{base}/api/auth/register", json={"username": name, "password": "long enough"}, timeout=10
    ).json()
    return body["access_token"], body["user"]["id"]


def create_task(base: str, token: str | None = None, duration: int = 6) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"prompt": "A lighthouse at dusk", "duration": duration, "voiceId": "espeak_male"}
    response = requests.post(f"{base}/api/video/tasks", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["data"]["videoId"]


def task_messages(socket: Socket, video_id: str) -> list[dict]:
    """This task's messages up to and including its final one."""
    messages = []
    while True:
        message = socket.next("taskProgress", "taskCompleted", "taskFailed", "error")
        assert message["type"] != "error", message
        if message["payload"]["videoId"] == video_id:
            messages.append(message)
            if message["type"] != "taskProgress":
                return messages


def test_auth_subscribe_progress_then_completed_video_serves(ws_server, connect):
    token, user_id = register(ws_server, "ana")
    socket = connect()
    hello = socket.next()
    assert hello["type"] == "connected" and hello["payload"]["connectionId"]
    assert hello["payload"]["capabilities"] == ["task_progress", "realtime_updates"]
    socket.send("auth", {"token": token})
    auth = socket.next()["payload"]
    assert auth["userId"] == user_id and auth["username"] == "ana" and auth["expiresAt"]
    video_id = create_task(ws_server, token)
    socket.send("subscribe_task", {"videoId": video_id})
    messages = task_messages(socket, video_id)
    progress = [m["payload"]["progress"] for m in messages]
    assert progress == sorted(progress) and len(messages) >= 3
    assert messages[0]["type"] == "taskProgress" and "externalVideoId" in messages[0]["payload"]
    assert all(m["payload"]["etaSeconds"] >= 0 for m in messages[:-1])
    done = messages[-1]["payload"]
    assert messages[-1]["type"] == "taskCompleted", done
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["result"]["resolution"] == "1080x1920" and done["result"]["duration"] > 0
    video = requests.get(
        ws_server + done["result"]["videoUrl"],
        headers={"Authorization": f"Bearer {token}", "Range": "bytes=0-99"},
        timeout=10,
    )
    assert video.status_code == 206 and len(video.content) == 100
    socket.send("subscribe_task", {"videoId": video_id})  # already final: the result at once
    assert socket.next()["type"] == "taskCompleted"


def test_cancelled_running_task_is_task_failed(ws_server, connect):
    token, _ = register(ws_server, "cai")
    video_id = create_task(ws_server, token, duration=30)
    socket = connect()
    socket.send("auth", {"token": token})
    socket.next("authSuccess")
    socket.send("subscribe_task", {"videoId": video_id})
    while socket.next("taskProgress")["payload"]["status"] != "PROCESSING":
        pass
    cancel = requests.post(
        f"{ws_server}/api/video/tasks/{video_id}/cancel",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert cancel.status_code in (200, 202), cancel.text
    final = task_messages(socket, video_id)[-1]
    assert final["type"] == "taskFailed", final
    assert final["payload"]["status"] == "cancelled" and final["payload"]["error"]["code"]


def test_other_users_task_is_not_found(ws_server, connect):
    owner_token, _ = register(ws_server, "olga")
    video_id = create_task(ws_server, owner_token)
    requests.post(
        f"{ws_server}/api/video/tasks/{video_id}/cancel",
        headers={"Authorization": f"Bearer {owner_token}"},
        timeout=10,
    )
    other_token, _ = register(ws_server, "mallory")
    socket = connect()
    socket.send("auth", {"token": other_token})
    socket.next("authSuccess")
    for target in (video_id, "video_does-not-exist"):
        socket.send("subscribe_task", {"videoId": target})
        error = socket.next()
        assert error["type"] == "error" and error["payload"]["code"] == "TASK_NOT_FOUND"
        assert error["payload"]["videoId"] == target


@pytest.mark.parametrize("token", ["not-a-jwt", ""])
def test_bad_token_is_an_error_then_close(connect, token):
    socket = connect()
    socket.send("auth", {"token": token})
    error = socket.next("error")
    assert error["type"] == "error" and error["payload"]["code"] == "AUTH_FAILED"
    assert socket.closed()


def test_revoked_token_is_refused(ws_server, connect):
    token, _ = register(ws_server, "rita")
    logout = requests.post(
        f"{ws_server}/api/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert logout.status_code == 200
    socket = connect()
    socket.send("auth", {"token": token})
    assert socket.next("error")["payload"]["code"] == "AUTH_FAILED"
    assert socket.closed()


def test_url_token_must_be_a_media_token(ws_server, connect):
    token, user_id = register(ws_server, "uma")
    media = requests.post(
        f"{ws_server}/api/auth/media-token",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["token"]
    good = connect(f"?token={media}")
    assert good.next()["type"] == "connected"
    assert good.next()["payload"]["userId"] == user_id
    refused = connect(f"?token={token}")  # an access token never belongs in a URL
    assert refused.next("error")["payload"]["code"] == "AUTH_FAILED"
    assert refused.closed()


def test_ping_pong_bad_json_unknown_type_and_server_heartbeat(connect):
    socket = connect()
    socket.next("connected")
    socket.ws.send("{not json")
    assert socket.next()["payload"]["code"] == "BAD_MESSAGE"
    socket.send("dance")
    assert socket.next()["payload"]["code"] == "UNKNOWN_MESSAGE"
    socket.send("subscribe_task", {"videoId": 42})
    assert socket.next()["payload"]["code"] == "BAD_MESSAGE"
    socket.send("ping")
    assert socket.next()["type"] == "pong"  # still usable after the bad messages
    assert socket.next("ping", skip_pings=False)["payload"] == {}  # idle: the server pings


def test_messages_that_used_to_drop_the_connection_are_bad_messages(connect):
    socket = connect()
    socket.next("connected")
    for raw in (
        '{"type": "subscribe_task", "payload": {"videoId": "video_\\ud800"}}',
        '{"type": "subscribe_task", "payload": {"videoId": "../../etc"}}',
        "[" * 30_000 + "]" * 30_000,  # 60 KB: under the size limit
        '{"type": "ping", "payload": {"x": ' + "[" * 20_000 + "]" * 20_000 + "}}",
    ):
        socket.ws.send(raw)
        assert socket.next("error")["payload"]["code"] == "BAD_MESSAGE", raw[:60]
    socket.ws.send('{"type": "auth", "payload": {"token": "\\ud800"}}')
    assert socket.next("error")["payload"]["code"] == "BAD_MESSAGE"
    socket.send("ping")
    assert socket.next("pong")["type"] == "pong", "the socket survived all of it"


def test_open_mode_anonymous_socket_follows_local_tasks(ws_server, connect):
    socket = connect()
    socket.send("subscribe_all")
    assert socket.next("subscribed")["payload"] == {"scope": "all"}
    video_id = create_task(ws_server)
    first = socket.next("taskProgress")["payload"]
    assert first["videoId"] == video_id
    socket.send("subscribe_task", {"videoId": video_id})
    assert socket.next("taskProgress", "taskCompleted")["payload"]["videoId"] == video_id
    requests.post(f"{ws_server}/api/video/tasks/{video_id}/cancel", timeout=10)
    final = task_messages(socket, video_id)[-1]
    assert final["type"] in ("taskFailed", "taskCompleted")
    socket.send("unsubscribe_task", {"videoId": video_id})
    assert socket.next("unsubscribed")["payload"] == {"videoId": video_id}


def test_subscribe_all_while_a_task_runs_starts_with_it(ws_server, connect):
    """The active tasks are read, the connection let go, then sent (that read used to fail)."""
    video_id = create_task(ws_server)
    socket = connect()
    socket.send("subscribe_all")
    assert socket.next("subscribed")["payload"] == {"scope": "all"}
    assert socket.next("taskProgress", "taskCompleted")["payload"]["videoId"] == video_id
    assert task_messages(socket, video_id)[-1]["type"] == "taskCompleted"


def test_a_reconnect_naming_its_last_version_resumes_after_it(ws_server, connect):
    """Drop the socket mid-task, reconnect with the version last seen: nothing is sent twice,
    the states missed meanwhile arrive as the task's current state, then it runs to the end."""
    video_id = create_task(ws_server, duration=8)
    first = connect()
    first.send("subscribe_task", {"videoId": video_id})
    before = [first.next("taskProgress")["payload"] for _ in range(2)]
    first.close()
    last_seen = before[-1]["version"]

    second = connect()
    second.send("subscribe_task", {"videoId": video_id, "version": last_seen})
    after = [m["payload"] for m in task_messages(second, video_id)]
    versions = [p["version"] for p in before + after]
    assert versions == sorted(set(versions)), f"a version was sent twice: {versions}"
    assert after[0]["version"] > last_seen
    assert after[-1]["status"] == "completed"
    progress = [p["progress"] for p in before + after]
    assert progress == sorted(progress)

    third = connect()  # resuming from the final version: nothing new, and nothing is sent
    third.send("subscribe_task", {"videoId": video_id, "version": after[-1]["version"]})
    third.send("ping")
    assert third.next("taskCompleted", "pong")["type"] == "pong"


def test_connection_limit_refuses_politely(ws_server, connect):
    refused = None
    for _ in range(MAX_SOCKETS + 1):  # earlier tests' sockets may still hold a slot briefly
        socket = connect()
        first = socket.next()
        if first["type"] == "error":
            refused = socket
            break
    assert refused is not None and first["payload"]["code"] == "TOO_MANY_CONNECTIONS"
    assert refused.closed()


def test_required_mode_needs_auth_before_subscribe(strict_server, connect):
    socket = connect(base=strict_server)
    socket.next("connected")
    socket.send("subscribe_task", {"videoId": "video_x"})
    assert socket.next()["payload"]["code"] == "AUTH_REQUIRED"
    token, _ = register(strict_server, "sam")
    socket.send("auth", {"token": token})
    socket.next("authSuccess")
    socket.send("subscribe_task", {"videoId": "video_x"})
    assert socket.next()["payload"]["code"] == "TASK_NOT_FOUND"


def test_logout_ends_an_open_session(ws_server, connect):
    token, _ = register(ws_server, "lena")
    socket = connect()
    socket.send("auth", {"token": token})
    socket.next("authSuccess")
    socket.send("subscribe_all")
    requests.post(
        f"{ws_server}/api/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert socket.next("error")["payload"]["code"] == "TOKEN_REVOKED"
    socket.send("auth", {"token": register(ws_server, "lena2")[0]})
    assert socket.next("authSuccess")["payload"]["username"] == "lena2"


def test_an_expiring_token_ends_the_session(ws_server, connect, tmp_path):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    from sora_app import create_app
    from tests.conftest import app_config

    access, user_id = register(ws_server, "tess")
    sid = pyjwt.decode(access, options={"verify_signature": False})["sid"]
    config = {**app_config(tmp_path), "JWT_SECRET_KEY": SECRET}
    with create_app(config).app_context():  # the server's key and a live session of its
        token = create_access_token(
            identity=user_id, additional_claims={"sid": sid}, expires_delta=timedelta(seconds=2)
        )
    socket = connect()
    socket.send("auth", {"token": token})
    socket.next("authSuccess")
    assert socket.next("error")["payload"]["code"] == "TOKEN_EXPIRED"


def test_an_api_key_opens_a_session_that_its_revocation_ends(ws_server, connect):
    token, user_id = register(ws_server, "kira")
    headers = {"Authorization": f"Bearer {token}"}
    made = requests.post(
        f"{ws_server}/api/auth/api-keys", json={"name": "dashboard"}, headers=headers, timeout=10
    ).json()
    socket = connect()
    socket.send("auth", {"token": made["key"]})
    assert socket.next("authSuccess")["payload"]["userId"] == user_id
    socket.send("subscribe_all")
    gone = requests.delete(
        f"{ws_server}/api/auth/api-keys/{made['id']}", headers=headers, timeout=10
    )
    assert gone.status_code == 204
    assert socket.next("error")["payload"]["code"] == "TOKEN_REVOKED"
    socket.send("auth", {"token": made["key"]})
    assert socket.next("error")["payload"]["code"] == "AUTH_FAILED"
