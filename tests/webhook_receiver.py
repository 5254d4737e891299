"""A real webhook receiver on loopback: verifies each delivery with the Standard Webhooks
reference library, as a client's server would, and answers as the test scripts it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Delivery:
    """One request as it arrived, and what verifying it with the secret said."""

    path: str
    headers: dict[str, str]
    body: bytes
    event: dict[str, Any] | None = None
    """The verified event; None when the signature did not verify (see `problem`)."""
    problem: str | None = None


@dataclass
class Receiver:
    secret: str | None = None
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    """Scripted (status, headers), first one first; 200 once they run out."""
    received: list[Delivery] = field(default_factory=list)
    port: int = 0
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Delivery]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def _take(self, request: Delivery) -> tuple[int, dict[str, str]]:
        if self.secret is not None:
            try:
                request.event = Webhook(self.secret).verify(request.body, request.headers)
            except Exception as exc:
                request.problem = f"{type(exc).__name__}: {exc}"
        with self._arrived:
            self.received.append(request)
            answer = self.answers.pop(0) if self.answers else (200, {})
            self._arrived.notify_all()
        return answer


def serve_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            status, headers = receiver._take(request)
            answer = json.dumps({"ok": status < 300}).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
