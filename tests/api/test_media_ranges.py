"""Byte ranges sent by sendfile (a positioned, bounded file in the server's file wrapper),
with werkzeug's conditional rules kept, and X-Accel-Redirect when nginx is in front."""

from __future__ import annotations

import os
from typing import ClassVar

import pytest

from sora_app import create_app
from sora_app.api.media_send import FileRange
from tests.api.test_contract import publish
from tests.conftest import app_config, close_app

NAME = "video_20250101_000000_ranges.mp4"
SIZE = 300_000


class RecordingWrapper:
    """Stands in for gunicorn's wsgi.file_wrapper: keeps the file-like it was given, and
    where its descriptor stood then (the offset gunicorn's sendfile starts from)."""

    made: ClassVar[list[RecordingWrapper]] = []

    def __init__(self, filelike, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize
        self.offset = os.lseek(filelike.fileno(), 0, os.SEEK_CUR)
        RecordingWrapper.made.append(self)

    def __iter__(self):
        while chunk := self.filelike.read(self.blksize):
            yield chunk

    def close(self) -> None:
        self.filelike.close()


@pytest.fixture
def video(app) -> bytes:
    data = os.urandom(SIZE)
    (app.config["VIDEOS_DIR"] / NAME).write_bytes(data)
    publish(app, NAME)
    RecordingWrapper.made.clear()
    return data


def get(client, headers: dict):
    return client.get(
        f"/api/video/{NAME}", headers=headers, environ_base={"wsgi.file_wrapper": RecordingWrapper}
    )


def sent_by_sendfile(start: int) -> bool:
    """The last body was a FileRange whose descriptor stood at `start` (gunicorn's sendfile
    offset; it sends Content-Length bytes from there)."""
    wrapper = RecordingWrapper.made[-1]
    return isinstance(wrapper.filelike, FileRange) and wrapper.offset == start


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=1000-1048575", 1000, SIZE),  # past the end: cut to the file
        ("bytes=100-199", 100, 200),
        ("bytes=-500", SIZE - 500, SIZE),
        ("bytes=100-", 100, SIZE),
        ("bytes=0-0", 0, 1),
    ],
)
def test_a_single_range_is_206_sent_by_sendfile(client, video, header, start, stop):
    response = get(client, {"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert int(response.headers["Content-Length"]) == stop - start
    assert response.data == video[start:stop]
    assert sent_by_sendfile(start)
    assert response.headers["ETag"] and response.headers["Last-Modified"]


def test_an_unsatisfiable_range_is_416(client, video):
    response = get(client, {"Range": f"bytes={SIZE}-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-9,20-29",  # several ranges: ignored rather than a multipart answer
        "bytes=0-9, 100-",
        "bytes=abc",
        "bytes=9-0",
        "bytes=-0",
        "items=0-9",
        "0-9",
    ],
)
def test_a_range_we_do_not_serve_is_ignored(client, video, header):
    response = get(client, {"Range": header})
    assert response.status_code == 200
    assert response.data == video
    assert "Content-Range" not in response.headers


def test_if_range_decides_between_206_and_200(client, video):
    etag = get(client, {}).headers["ETag"]
    matching = get(client, {"Range": "bytes=10-19", "If-Range": etag})
    assert matching.status_code == 206 and matching.data == video[10:20]
    stale = get(client, {"Range": "bytes=10-19", "If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.data == video
    old_date = get(client, {"Range": "bytes=10-19", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert old_date.status_code == 200 and old_date.data == video


def test_head_of_a_range_has_its_headers_and_no_body(client, video):
    response = client.head(f"/api/video/{NAME}", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["Content-Length"] == "100"
    assert response.data == b""


def test_file_range_never_reads_past_its_end(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with path.open("rb") as file:
        file.seek(10)
        part = FileRange(file, 20)
        assert part.read(15) + part.read() + part.read(5) == bytes(range(10, 30))


@pytest.fixture
def accel_app(tmp_path):
    app = create_app({**app_config(tmp_path), "ACCEL_REDIRECT_PREFIX": "/_protected_videos/"})
    yield app
    close_app(app)


def test_with_nginx_in_front_the_app_answers_x_accel_redirect(accel_app):
    (accel_app.config["VIDEOS_DIR"] / NAME).write_bytes(b"x" * 100)
    publish(accel_app, NAME)
    client = accel_app.test_client()
    response = client.get(f"/api/video/{NAME}", headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert response.headers["X-Accel-Redirect"] == f"/_protected_videos/{NAME}"
    assert response.mimetype == "video/mp4"
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert response.data == b""
    other = "video_20250101_000000_other.mp4"
    (accel_app.config["VIDEOS_DIR"] / other).write_bytes(b"y" * 100)
    publish(accel_app, other, owner="someone-else")
    refused = client.get(f"/api/video/{other}")
    assert refused.status_code == 404 and "X-Accel-Redirect" not in refused.headers


def test_nginx_may_remember_only_a_yes_to_a_request_without_credentials(accel_app):
    """X-Accel-Expires is what deploy/nginx.conf caches by: the replay seconds for a plain
    request, 0 when a token, key or cookie came with it (those are always asked anew)."""
    accel_app.config["MEDIA_REPLAY_SECONDS"] = 7.5
    (accel_app.config["VIDEOS_DIR"] / NAME).write_bytes(b"x" * 100)
    publish(accel_app, NAME)
    client = accel_app.test_client()
    assert client.get(f"/api/video/{NAME}").headers["X-Accel-Expires"] == "7"
    client.set_cookie("theme", "dark")
    assert client.get(f"/api/video/{NAME}").headers["X-Accel-Expires"] == "0"
    client.delete_cookie("theme")
    for ask in (
        {"headers": {"Authorization": "Bearer sk-sora-x"}},
        {"query_string": "token=x"},
        {"query_string": "%74oken=x"},  # werkzeug decodes the name: still a token
    ):
        answer = client.get(f"/api/video/{NAME}", **ask)
        assert answer.headers.get("X-Accel-Expires", "0") == "0", ask
