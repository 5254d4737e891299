"""Input that used to reach a 500 (or an HTML page): each is now a 4xx in the surface's shape."""

from __future__ import annotations

import json
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import serve

JSON_ROUTES = ("/api/generate-video", "/api/video/tasks", "/api/auth/login", "/api/auth/register")
DEEP = "[" * 50_000 + "]" * 50_000
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_error(response, status: int = 400, field: str | None = None) -> dict:
    body = response.get_json()
    assert response.status_code == status, (response.status_code, body)
    assert isinstance(body.get("error"), str) and body.get("message")
    if response.request.path.startswith("/api/video/tasks"):
        assert body["success"] is False, "contract 2 keeps its envelope"
    if field is not None:
        assert body.get("field") == field, body
    return body


@FUZZ
@given(raw=st.text(max_size=30))
def test_page_and_limit_are_whole_numbers_or_a_400(client, raw):
    for name in ("page", "limit"):
        response = client.get("/api/video/tasks", query_string={name: raw})
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 100:
            assert response.status_code == 200
        elif response.status_code != 200:
            assert_error(response, field=name)


@FUZZ
@given(raw=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40))
def test_last_event_id_is_an_event_id_or_a_400(client, raw):
    response = client.head("/api/events", headers={"Last-Event-ID": raw})
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 13:
        assert response.status_code == 200
    elif raw:
        assert response.status_code == 400


@pytest.mark.parametrize("raw", ["²", "٣", "99999999999999999999", "1e3", "-1", " 5"])
def test_the_values_that_used_to_500(client, raw):
    assert_error(client.get(f"/api/video/tasks?page={raw}"), field="page")
    assert_error(client.get(f"/api/video/tasks?limit={raw}"), field="limit")
    assert_error(client.get("/api/events", headers={"Last-Event-ID": raw}), field="Last-Event-ID")


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(
    "body",
    [
        '{"topic": "\\ud800", "prompt": "\\ud800", "username": "\\ud800", "password": "x"}',
        '{"topic": "t", "prompt": "p", "username": "u", "password": "pw123456", "\\udfff": 1}',
        DEEP,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
    ],
    ids=["surrogate-value", "surrogate-key", "deep-array", "deep-object"],
)
def test_unusable_json_is_a_400(client, path, body):
    assert_error(client.post(path, data=body, content_type="application/json"))


def test_an_infinite_duration_names_its_field(client):
    for value in ("Infinity", "-Infinity", "NaN", "1e400"):
        body = f'{{"topic": "t", "duration": {value}}}'
        response = client.post("/api/generate-video", data=body, content_type="application/json")
        assert_error(response, field="duration")


def test_a_websocket_upgrade_without_a_key_is_a_400(client):
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    assert_error(client.get("/ws", headers=upgrade), field="Sec-WebSocket-Key")
    bad_key = {**upgrade, "Sec-WebSocket-Key": "not base64!"}
    assert_error(client.get("/ws", headers=bad_key), field="Sec-WebSocket-Key")
    old = {**upgrade, "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "8"}
    assert_error(client.get("/ws", headers=old), status=426)


def test_automatic_options_answers_are_json(client):
    response = client.options("/health")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "GET" in response.get_json()["allow"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    yield from serve(tmp_path_factory.mktemp("bad_input"))


def raw_http(base: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send bytes no HTTP library would produce; return status line, headers and body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", "431"),
        (b"NOT A REQUEST LINE\r\n\r\n", "400"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", "400"),
    ],
    ids=["uri-too-long", "header-too-large", "bad-request-line", "bad-header"],
)
def test_the_servers_own_refusals_are_json(live, request_bytes, status):
    status_line, headers, body = raw_http(live, request_bytes)
    assert status_line.split(" ")[1] == status, status_line
    assert headers["content-type"] == "application/json"
    parsed = json.loads(body)
    assert parsed["error"] and parsed["message"]
    assert b"<html" not in body
