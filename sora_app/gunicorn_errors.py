"""gunicorn's own error answers (400/414/431… for requests it cannot parse) in our JSON shape.

gunicorn writes those before the app sees the request, as an HTML page, through
`gunicorn.util.write_error`; it offers no hook for their body, so we replace that one function
(same signature, same framing: a complete response, then the connection closes).
"""

from __future__ import annotations

import json
import socket

from gunicorn import util


def error_code(reason: str) -> str:
    """'Request Header Fields Too Large' -> 'REQUEST_HEADER_FIELDS_TOO_LARGE'."""
    return "".join(c if c.isalnum() else "_" for c in reason.upper()).strip("_") or "ERROR"


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    body = json.dumps(
        {"error": error_code(reason), "message": mesg or reason}, ensure_ascii=True
    ).encode("ascii")
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


def install() -> None:
    util.write_error = write_json_error
