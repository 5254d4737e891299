"""The ceiling of one gunicorn process: the range path without Flask (bench/ranges.py).

A WSGI app that answers every GET with the single range of one file (BENCH_FILE) by the same
code the media replay uses (`_span`, `FileRange`, the server's file wrapper), under the
production gunicorn settings. Nothing any app does inside that server can be faster, so
`app ÷ gunicorn_bare` says how much of the gap to nginx is still ours.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wsgi import wrap_file

from sora_app.api.media_send import BLOCK, FileRange
from sora_app.media_replay import _span

PATH = os.environ.get("BENCH_FILE", "")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/health":
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    size = os.path.getsize(PATH)
    span = _span(environ.get("HTTP_RANGE"), size)
    if span is None:
        start_response("416 Range Not Satisfiable", [("Content-Length", "0")])
        return [b""]
    start, stop, partial = span
    file = open(PATH, "rb")  # noqa: SIM115 (the server closes it)
    file.seek(start)
    headers = [("Content-Type", "video/mp4"), ("Content-Length", str(stop - start))]
    if partial:
        headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{size}"))
    start_response("206 Partial Content" if partial else "200 OK", headers)
    return wrap_file(environ, FileRange(file, stop - start), BLOCK)
