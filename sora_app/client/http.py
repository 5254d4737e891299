"""One small HTTP client for the CLI: base URL, bearer credential, one error shape.

Every failure becomes a ClientError carrying the one line to print and the exit code, so
the commands never show a traceback for something the server or the network did.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

EXIT_FAILED = 1
"""The server failed (5xx), or the job ended failed or cancelled."""
EXIT_REFUSED = 2
"""The request was refused (400 validation, 404, 409, 429) or the command line was wrong."""
EXIT_UNREACHABLE = 3
"""Nothing answered at the server URL."""
EXIT_AUTH = 4
"""401/403: no credential, or the credential was not accepted."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (the shell's convention: 128 + SIGINT)."""

TIMEOUT = (10.0, 60.0)
"""(connect, read) seconds; SSE streams send a ping well inside the read timeout."""
CHUNK = 1 << 20


class ClientError(Exception):
    """A failure to print as one line, with the exit code the command ends with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class Api:
    """The server at `base`, with an optional bearer credential (API key or access token)."""

    def __init__(self, base: str, credential: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.session = requests.Session()
        if credential:
            self.session.headers["Authorization"] = f"Bearer {credential}"

    def use_server(self, base: str) -> None:
        """Talk to `base` instead (a --server given after the command)."""
        self.base = base.rstrip("/")

    @property
    def has_credential(self) -> bool:
        return "Authorization" in self.session.headers

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base}{path}"

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The response of a 2xx/3xx; ClientError for anything else, and for no answer."""
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            response = self.session.request(method, self.url(path), **kwargs)
        except requests.ConnectionError:
            raise ClientError(
                f"The server is not reachable at {self.base} (is it running? --server or "
                "SORA_SERVER_URL sets the address).",
                EXIT_UNREACHABLE,
            ) from None
        except requests.Timeout:
            raise ClientError(f"The server at {self.base} did not answer in time.") from None
        except requests.RequestException as exc:
            raise ClientError(f"Request to {self.base} failed: {exc}") from None
        if response.status_code >= 400:
            raise error_of(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ClientError(f"{path}: the server's answer is not JSON.") from None

    def download(self, path: str, target: Path) -> int:
        """Stream a file to `target` through a temp name beside it, renamed when complete."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        written = 0
        try:
            with self.send("GET", path, stream=True) as response, partial.open("wb") as out:
                for chunk in _chunks(response):
                    out.write(chunk)
                    written += len(chunk)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return written


def _chunks(response: requests.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_content(CHUNK)
    except requests.RequestException:
        raise ClientError("The download was cut off; nothing was saved.") from None


def error_of(response: requests.Response) -> ClientError:
    """The server's {"error", "message", "field"} as one line (OpenAI's shape on /v1 too)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # /v1's shape
        body = {**body["error"], "error": body["error"].get("code")}
    body = body if isinstance(body, dict) else {}
    code = body.get("error") or f"HTTP_{response.status_code}"
    message = body.get("message") or response.reason or "request failed"
    field = body.get("field")
    line = f"error {response.status_code} {code}: {message}"
    if field:
        line += f" (field: {field})"
    retry = response.headers.get("Retry-After")
    if retry:
        line += f"; retry after {retry} s"
    if response.status_code in (401, 403):
        return ClientError(line + " (set SORA_API_KEY or SORA_TOKEN)", EXIT_AUTH)
    return ClientError(line, EXIT_REFUSED if response.status_code < 500 else EXIT_FAILED)
