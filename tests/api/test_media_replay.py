"""A seeking player's next ranges sent below Flask: only what Flask allowed, exactly as it
would have sent it, to the same credentials, for a few seconds."""

from __future__ import annotations

import os

import pytest

from sora_app import create_app
from sora_app.media_replay import MediaReplay
from tests.api.test_auth import bearer, register
from tests.api.test_contract import publish
from tests.api.test_media_ranges import RecordingWrapper, sent_by_sendfile
from tests.conftest import app_config, close_app

NAME = "video_20250101_000000_replay.mp4"
SIZE = 500_000


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replayer(app, clock: Clock) -> MediaReplay:
    """The app's replay layer, on a clock the test moves."""
    layer = app.wsgi_app
    while not isinstance(layer, MediaReplay):
        layer = getattr(layer, "app", None) or layer.inner
    layer.clock = clock
    return layer


@pytest.fixture
def setup(app):
    data = os.urandom(SIZE)
    (app.config["VIDEOS_DIR"] / NAME).write_bytes(data)
    publish(app, NAME)
    clock = Clock()
    return app, data, replayer(app, clock), clock


def get(client, headers: dict | None = None, query: str = ""):
    environ = {"wsgi.file_wrapper": RecordingWrapper}
    return client.get(f"/api/video/{NAME}{query}", headers=headers or {}, environ_base=environ)


def test_the_next_range_is_sent_below_flask_with_flasks_headers(setup):
    app, data, layer, _ = setup
    client = app.test_client()
    origin = {"Origin": "http://localhost:5173"}
    first = get(client, {"Range": "bytes=0-99", **origin})
    assert first.status_code == 206 and layer.replayed == 0
    for header, start, stop in (
        ("bytes=100000-199999", 100_000, 200_000),
        ("bytes=400000-", 400_000, SIZE),
        ("bytes=-1000", SIZE - 1000, SIZE),
        ("bytes=499999-600000", 499_999, SIZE),
    ):
        again = get(client, {"Range": header, **origin})
        assert again.status_code == 206 and again.data == data[start:stop]
        assert again.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{SIZE}"
        assert sent_by_sendfile(start)
    assert layer.replayed == 4
    for name in ("ETag", "Last-Modified", "Content-Type", "Cache-Control", "Accept-Ranges"):
        assert again.headers[name] == first.headers[name], name
    assert (
        again.headers["Access-Control-Allow-Origin"] == first.headers["Access-Control-Allow-Origin"]
    )
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    whole = get(client, origin)
    assert whole.status_code == 200 and whole.data == data and layer.replayed == 5


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=0-1,5-9"},  # several: Flask ignores them (200)
        {"Range": "bytes=abc"},
        {"Range": "bytes=600000-"},  # unsatisfiable: Flask's 416
        {"Range": "bytes=0-99", "If-Range": '"stale"'},
        {"If-None-Match": "*"},
    ],
)
def test_anything_but_a_plain_range_goes_to_flask(setup, headers):
    app, _, layer, _ = setup
    client = app.test_client()
    assert get(client, {"Range": "bytes=0-99"}).status_code == 206
    answer = get(client, headers)
    assert layer.replayed == 0 and answer.status_code in (200, 206, 304, 416)


def test_it_lasts_a_few_seconds_and_a_removed_or_replaced_file_is_never_sent(setup):
    app, _, layer, clock = setup
    client = app.test_client()
    get(client, {"Range": "bytes=0-99"})
    clock.now += app.config["MEDIA_REPLAY_SECONDS"] + 0.1
    get(client, {"Range": "bytes=0-99"})
    assert layer.replayed == 0  # expired: Flask decided again (and the answer is kept anew)
    get(client, {"Range": "bytes=0-99"})
    assert layer.replayed == 1
    path = app.config["VIDEOS_DIR"] / NAME
    path.unlink()
    assert get(client, {"Range": "bytes=0-99"}).status_code == 404
    path.write_bytes(os.urandom(SIZE))  # another file under the name: Flask looks at it
    get(client, {"Range": "bytes=0-99"})
    assert layer.replayed == 1


def test_requests_with_credentials_always_go_to_flask(tmp_path):
    """So a logout or a revoked key ends a player's access at once (required mode)."""
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    try:
        client = app.test_client()
        alice = register(client, "alice")
        bob = register(client, "bob")["access_token"]
        (app.config["VIDEOS_DIR"] / NAME).write_bytes(os.urandom(SIZE))
        publish(app, NAME, owner=alice["user"]["id"])
        layer = replayer(app, Clock())
        mine = get(client, {"Range": "bytes=0-99", **bearer(alice["access_token"])})
        assert mine.status_code == 206
        assert get(client, {"Range": "bytes=0-99", **bearer(bob)}).status_code == 404
        assert get(client, {"Range": "bytes=0-99"}).status_code == 401
        assert layer.replayed == 0
        again = get(client, {"Range": "bytes=5-9", **bearer(alice["access_token"])})
        assert again.status_code == 206 and layer.replayed == 0
        client.post("/api/auth/logout", headers=bearer(alice["access_token"]))
        gone = get(client, {"Range": "bytes=5-9", **bearer(alice["access_token"])})
        assert gone.status_code == 401 and layer.replayed == 0
    finally:
        close_app(app)


def test_it_can_be_switched_off(tmp_path):
    app = create_app({**app_config(tmp_path), "MEDIA_REPLAY_SECONDS": 0})
    try:
        layer = app.wsgi_app
        while layer is not None:
            assert not isinstance(layer, MediaReplay)
            layer = getattr(layer, "app", None) or getattr(layer, "inner", None)
    finally:
        close_app(app)


def test_behind_nginx_the_header_only_answer_is_replayed(tmp_path):
    app = create_app({**app_config(tmp_path), "ACCEL_REDIRECT_PREFIX": "/_protected_videos/"})
    try:
        (app.config["VIDEOS_DIR"] / NAME).write_bytes(os.urandom(1000))
        publish(app, NAME)
        layer = replayer(app, Clock())
        client = app.test_client()
        first = get(client, {"Range": "bytes=0-9"})
        again = get(client, {"Range": "bytes=10-19"})
        assert layer.replayed == 1 and again.status_code == 200 and again.data == b""
        for name in ("X-Accel-Redirect", "Content-Type", "Cache-Control"):
            assert again.headers[name] == first.headers[name]
        (app.config["VIDEOS_DIR"] / NAME).unlink()
        assert get(client, {"Range": "bytes=0-9"}).status_code == 404
    finally:
        close_app(app)
