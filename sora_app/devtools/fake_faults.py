"""The fake's misbehaving answers: error statuses, cut-off bodies and trickles.

A trickle is what a per-recv read timeout never catches: the fake keeps sending a byte every
``trickle_seconds``, so only a wall-clock deadline (or a cancel) can end the call. Both kinds
note when the client hung up before the end (``client_gone`` in the request log).
"""

from __future__ import annotations

import contextlib
import math
import socket
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flask import Response, request

from sora_app.devtools.fake_videos import openai_error

if TYPE_CHECKING:
    from sora_app.devtools.fake_upstreams import FakeUpstreams

_STATUS_TYPES = {429: "rate_limit_error", 408: "timeout", 409: "conflict"}
BODY_FAULTS = frozenset({"truncated", "trickle"})
"""Faults applied to the normal answer's body on its way out."""


def status_fault(fault: str, fake: FakeUpstreams) -> Response:
    """An HTTP error in OpenAI's shape; `503:noretry` adds x-should-retry: false."""
    code_text, _, flag = fault.partition(":")
    status = int(code_text)
    response = openai_error(
        status,
        f"Fake upstream fault {status} on {request.path}.",
        _STATUS_TYPES.get(status, "api_error"),
    )
    if status == 429:
        response.headers["Retry-After"] = str(max(1, math.ceil(fake.retry_after_ms / 1000)))
        response.headers["retry-after-ms"] = str(fake.retry_after_ms)
    if flag == "noretry":
        response.headers["x-should-retry"] = "false"
    return response


def body_fault(fault: str, response: Response, fake: FakeUpstreams, entry: dict) -> Response:
    """`truncated`: half the body, then hang up; `trickle`: the body a byte at a time."""
    response.direct_passthrough = False
    body = response.get_data()
    if fault == "truncated":
        parts: Any = iter([body[: len(body) // 2]])
    else:
        parts = _trickle(body, fake, entry)
    out = Response(parts, status=response.status_code)
    for name, value in response.headers.items():
        if name.lower() not in {"content-length", "content-type"}:
            out.headers[name] = value
    out.headers["Content-Type"] = response.headers.get("Content-Type", "")
    out.headers["Content-Length"] = str(len(body))
    return out


def _trickle(body: bytes, fake: FakeUpstreams, entry: dict) -> Iterator[bytes]:
    """Yield `trickle_bytes` every `trickle_seconds`; closed early means the client left."""
    fake.trickling.set()
    sent = 0
    try:
        while sent < len(body):
            piece = body[sent : sent + fake.trickle_bytes]
            yield piece
            sent += len(piece)
            time.sleep(fake.trickle_seconds)
    finally:
        if sent < len(body):
            fake.note_hangup(entry)


def trickle_headers(fake: FakeUpstreams, entry: dict) -> None:
    """Send an endless status line a byte at a time, until the client hangs up."""
    sock: socket.socket | None = request.environ.get("werkzeug.socket")
    if sock is None:
        return
    fake.trickling.set()
    line = b"HTTP/1.1 200 OK\r\nX-Trickle: " + b"z" * 1_000_000
    try:
        for i in range(len(line)):
            sock.sendall(line[i : i + 1])
            time.sleep(fake.trickle_seconds)
    except OSError:
        fake.note_hangup(entry)
    with contextlib.suppress(OSError):  # whatever werkzeug writes next goes nowhere
        sock.shutdown(socket.SHUT_RDWR)
