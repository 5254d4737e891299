"""Reading one attempt's response body under a CallGuard: small reads, true byte counts.

Bodies are read with read1 (whatever has arrived, at most one recv), so the guard is checked
between reads even while an upstream trickles, and a truncated body reports the bytes that
really arrived. A fault in one attempt's body is a Glitch: the client retries it like any
other transient failure and only turns it into an UpstreamError once the budget is spent.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import requests
from urllib3.exceptions import HTTPError, ReadTimeoutError

from sora_app.providers.http_errors import (
    Target,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    plural_attempts,
)
from sora_app.providers.http_guard import CallGuard

CHUNK = 64 * 1024
ERROR_BODY_CAP = 64 * 1024
"""An error status's body is only read for its message; never more than this."""

Check = Callable[[dict], str | None]
"""Validates a decoded reply: None if usable, else what is wrong ("a video without a status")."""


class Glitch(Exception):
    """A transient fault in one attempt's body (malformed JSON, truncation, a bad reply)."""

    def __init__(
        self, kind: type[UpstreamError], what: str, status: int, cause: str, **details: Any
    ) -> None:
        super().__init__(what)
        self.kind, self.what, self.status, self.cause = kind, what, status, cause
        self.details = details

    def error(self, target: Target, attempts: int) -> UpstreamError:
        """The failure to report once no retry is left."""
        what = f"{self.what} ({plural_attempts(attempts)})"
        return target.error(self.kind, what, self.status, attempts=attempts, **self.details)


def declared_length(response: requests.Response) -> int | None:
    declared = response.headers.get("Content-Length", "")
    return int(declared) if declared.isdigit() else None


def _truncated(response: requests.Response, noun: str) -> Glitch:
    """Report the bytes that really arrived (urllib3 counts them as they are read)."""
    received, expected = response.raw.tell(), declared_length(response)
    what = f"sent a truncated {noun} ({received} of {expected if expected else '?'} bytes)"
    return Glitch(UpstreamBadResponse, what, 502, "truncated", received_bytes=received)


def chunks(
    response: requests.Response, guard: CallGuard, read_timeout: float, noun: str = "body"
) -> Iterator[bytes]:
    """Yield the decoded body as it arrives; the guard is checked around every read."""
    raw = response.raw
    while True:
        guard.check()
        try:
            chunk = raw.read1(CHUNK, decode_content=True)
        except ReadTimeoutError:
            guard.check()
            what = f"did not respond within the {read_timeout:g} s read timeout"
            raise Glitch(
                UpstreamTimeout, what, 504, "read_timeout", timeout_seconds=read_timeout
            ) from None
        except (HTTPError, OSError):
            guard.check()  # a socket the guard shut down looks like a broken connection
            raise _truncated(response, noun) from None
        guard.received = raw.tell()
        if not chunk:
            guard.check()  # a shut socket also looks like the end of a body without a length
            expected = declared_length(response)
            if expected is not None and raw.tell() < expected:
                raise _truncated(response, noun)
            return
        yield chunk


def read_all(response: requests.Response, guard: CallGuard, read_timeout: float) -> bytes:
    """The whole body, read under the guard."""
    return b"".join(chunks(response, guard, read_timeout))


def read_error_body(response: requests.Response, guard: CallGuard, read_timeout: float) -> None:
    """Load an error status's body (capped; a cut-off one keeps what came) for its message."""
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in chunks(response, guard, read_timeout):
            parts.append(chunk)
            size += len(chunk)
            if size >= ERROR_BODY_CAP:
                break
    except Glitch:
        pass  # the status already says what went wrong; the message is a bonus
    if not response.raw.closed:
        response.raw.close()  # unread bytes left: this connection must not go back to the pool
    fill(response, b"".join(parts)[:ERROR_BODY_CAP])


def fill(response: requests.Response, data: bytes) -> requests.Response:
    """Hand requests the body we read, so .content, .text and .json() work as usual."""
    response._content = data
    response._content_consumed = True
    return response


def parse_json(target: Target, response: requests.Response, check: Check | None) -> dict:
    """An OpenAI-style object, or a Glitch: malformed, not an object, or refused by check."""
    try:
        body = response.json()
    except ValueError:
        snippet = target.scrub(response.text[:80])
        raise Glitch(
            UpstreamBadResponse, f"returned malformed JSON: {snippet!r}", 502, "malformed_json"
        ) from None
    if not isinstance(body, dict):
        raise Glitch(UpstreamBadResponse, "returned JSON that is not an object", 502, "bad_reply")
    problem = check(body) if check is not None else None
    if problem:
        raise Glitch(UpstreamBadResponse, f"returned {problem}", 502, "bad_reply")
    return body


def save_body(
    target: Target,
    response: requests.Response,
    guard: CallGuard,
    dest: Path,
    max_bytes: int,
    read_timeout: float,
) -> int:
    """Write the body to a temp file beside dest, then rename: dest is whole or absent."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            written = _copy_capped(target, response, guard, out, max_bytes, read_timeout)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


def _copy_capped(
    target: Target,
    response: requests.Response,
    guard: CallGuard,
    out: IO[bytes],
    max_bytes: int,
    read_timeout: float,
) -> int:
    """Copy under the size cap (never retried: a bigger file will not shrink)."""
    expected = declared_length(response)
    too_big = f"sent more than the {max_bytes} bytes allowed"
    if expected is not None and expected > max_bytes:
        raise target.error(UpstreamBadResponse, too_big, 502, content_length=expected)
    written = 0
    for chunk in chunks(response, guard, read_timeout, noun="download"):
        written += len(chunk)
        if written > max_bytes:
            raise target.error(UpstreamBadResponse, too_big, 502)
        out.write(chunk)
    return written
