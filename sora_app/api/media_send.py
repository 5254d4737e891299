"""Media files sent fast: a single byte range by sendfile, or the whole job handed to nginx.

werkzeug answers a Range request through its own range wrapper, which gunicorn can only send
as 8 KiB Python chunks (~0.14x nginx for a 1 MiB range); a whole file goes out by sendfile.
Here a 206 keeps werkzeug's headers (ETag, Last-Modified, If-Range, Content-Range, 416) and
only its body is swapped for a file positioned at the range's start, wrapped in the server's
`wsgi.file_wrapper`: gunicorn then sendfiles exactly Content-Length bytes from there.
Behind nginx, SORA_ACCEL_REDIRECT_PREFIX makes the app answer with X-Accel-Redirect instead
(after the same ownership check) and nginx sends the bytes itself.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from flask import Response, current_app, request
from werkzeug.http import parse_range_header
from werkzeug.utils import send_file
from werkzeug.wsgi import wrap_file

log = logging.getLogger(__name__)

BLOCK = 64 * 1024
"""Read size when the server cannot sendfile (TLS in gunicorn, the test client)."""


class FileRange:
    """A file seen from its current position for `length` bytes: fileno() for sendfile,
    read() for everyone else, never past the range."""

    def __init__(self, file: BinaryIO, length: int) -> None:
        self.file = file
        self.left = length

    def fileno(self) -> int:
        return self.file.fileno()

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.file.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.file.close()


CREDENTIALS = ("HTTP_AUTHORIZATION", "HTTP_COOKIE")


def carries_credentials(environ: dict) -> bool:
    """A token, key or cookie: such a request is always decided anew by the app, never from
    an answer remembered below it (media_replay) or in nginx, so a logout ends access at once.
    Any query string counts (video URLs have none but `?token=`, which may arrive encoded)."""
    return any(name in environ for name in CREDENTIALS) or bool(environ.get("QUERY_STRING"))


def single_byte_range(header: str) -> bool:
    """RFC 9110 lets a server ignore a Range it will not serve: only one bytes range is used."""
    parsed = parse_range_header(header)
    return parsed is not None and parsed.units == "bytes" and len(parsed.ranges) == 1


def send_media(path: Path, mimetype: str, max_age: int = 3600, accel_name: str = "") -> Response:
    """The file with conditional and Range support; `accel_name` (its name in the videos
    folder) lets nginx send it when SORA_ACCEL_REDIRECT_PREFIX is set."""
    prefix = current_app.config.get("ACCEL_REDIRECT_PREFIX", "")
    if prefix and accel_name:
        return accel_response(prefix + quote(accel_name), mimetype, max_age)
    environ = request.environ
    if "HTTP_RANGE" in environ and not single_byte_range(environ["HTTP_RANGE"]):
        environ = {key: value for key, value in environ.items() if key != "HTTP_RANGE"}
    response = send_file(
        path,
        environ=environ,
        mimetype=mimetype,
        conditional=True,
        max_age=max_age,
        response_class=current_app.response_class,
        _root_path=current_app.root_path,
    )
    if response.status_code == 206:
        _sendfile_body(response, path, environ)
    return response


def _sendfile_body(response: Response, path: Path, environ: dict) -> None:
    """Swap werkzeug's chunked range body for the range itself, which the server sendfiles."""
    content_range = response.content_range
    if content_range.start is None or content_range.stop is None:
        return
    file = path.open("rb")
    try:
        if os.fstat(file.fileno()).st_size != content_range.length:
            file.close()  # replaced since werkzeug looked: its own body still matches
            log.info("event=range_file_changed file=%s", path.name)
            return
        file.seek(content_range.start)
    except OSError:
        file.close()
        raise
    old = response.response
    if hasattr(old, "close"):
        old.close()
    body = FileRange(file, content_range.stop - content_range.start)
    response.response = wrap_file(environ, body, BLOCK)
    response.direct_passthrough = True


def accel_response(location: str, mimetype: str, max_age: int) -> Response:
    """An empty answer telling nginx which internal location holds the bytes."""
    response = current_app.response_class(b"", mimetype=mimetype)
    response.headers["X-Accel-Redirect"] = location
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    # How long nginx may answer the same ask without us (deploy/nginx.conf caches by it); the
    # header never reaches the client.
    seconds = 0 if carries_credentials(request.environ) else remember_seconds()
    response.headers["X-Accel-Expires"] = str(seconds)
    return response


def remember_seconds() -> int:
    """SORA_MEDIA_REPLAY_SECONDS in whole seconds (X-Accel-Expires has no fractions)."""
    return int(float(current_app.config.get("MEDIA_REPLAY_SECONDS", 0)))
