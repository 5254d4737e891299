"""Typed upstream failures and the mapping from requests/urllib3 outcomes onto them.

Every message names the upstream and its host, and passes through the scrubber, so an API
key can never reach a log line, a job's error or a JSON response.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.exceptions import ReadTimeoutError as _ReadTimeoutError

log = logging.getLogger(__name__)

_SECRET_PATTERNS = (re.compile(r"(?i)bearer\s+\S+"), re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"))
_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


class UpstreamError(Exception):
    """Base of every upstream failure; carries what an API error or a job failure needs."""

    code = "UPSTREAM_ERROR"

    def __init__(self, message: str, status_hint: int, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.status_hint = status_hint
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The contract-4 error body, so jobs can store the failure as-is."""
        return {"error": self.code, "message": self.message, "details": self.details}


class UpstreamUnavailable(UpstreamError):
    """Nothing answered (refused, DNS, dropped connection): fail fast, tell the operator."""

    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(UpstreamError):
    """The upstream took the connection but did not answer within the timeout."""

    code = "UPSTREAM_TIMEOUT"


class UpstreamDeadline(UpstreamTimeout):
    """The whole call outran its wall-clock deadline (e.g. a body trickling in byte by byte).

    A per-recv read timeout never fires while bytes keep coming; this one does, so it shares
    the timeout's code and status and says which limit it was.
    """


class UpstreamRejected(UpstreamError):
    """A 4xx: our request (or key) was refused; the upstream's own words are kept."""

    code = "UPSTREAM_REJECTED"


class UpstreamServerError(UpstreamError):
    """5xx still failing after every retry."""

    code = "UPSTREAM_ERROR"


class UpstreamBadResponse(UpstreamError):
    """A response we cannot use: malformed JSON, truncated or oversized body."""

    code = "UPSTREAM_BAD_RESPONSE"


@dataclass(frozen=True)
class Target:
    """Who failed, for messages: the upstream's label, host and base URL, plus its secret."""

    name: str
    host: str
    base_url: str
    secret: str | None = None

    def __repr__(self) -> str:
        return f"Target(name={self.name!r}, host={self.host!r})"

    def scrub(self, text: str) -> str:
        """Drop the key, and anything that looks like a bearer token, from surfaced text."""
        if self.secret:
            text = text.replace(self.secret, "***")
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub("***", text)
        return text

    def error(
        self,
        kind: type[UpstreamError],
        what: str,
        status: int,
        *,
        full: bool = False,
        **details: Any,
    ) -> UpstreamError:
        """Build (and log) an error whose message names upstream and host, key scrubbed."""
        message = self.scrub(what if full else f"the {self.name} at {self.host} {what}")
        clean = {k: self.scrub(v) if isinstance(v, str) else v for k, v in details.items()}
        clean.update(upstream=self.name, host=self.host)
        err = kind(message, status, clean)
        log.warning(
            "upstream failed upstream=%s host=%s code=%s status_hint=%d message=%r",
            self.name,
            self.host,
            err.code,
            status,
            message,
        )
        return err


def plural_attempts(attempts: int) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''}"


def root_cause(exc: BaseException) -> BaseException:
    """Unwrap requests' ConnectionError(MaxRetryError(reason)) down to urllib3's reason."""
    current = exc
    for _ in range(6):
        if isinstance(current, MaxRetryError) and current.reason is not None:
            current = current.reason
        elif isinstance(current, requests.RequestException) and current.args:
            if not isinstance(current.args[0], BaseException):
                break
            current = current.args[0]
        else:
            break
    return current


def _why_unreachable(reason: BaseException) -> str:
    """A short human reason: refused, DNS failure or dropped connection."""
    text = str(reason).lower()
    if "resolution" in text or "name or service" in text or "nodename" in text:
        return "host name could not be resolved"
    if "refused" in text:
        return "connection refused"
    if "aborted" in text or "reset" in text or "disconnected" in text:
        return "connection dropped"
    return "connection failed"


def transport_error(
    target: Target, exc: requests.RequestException, attempts: int, timeout: tuple[float, float]
) -> UpstreamError:
    """Map a failure with no usable response onto unavailable / timeout / bad response."""
    tries = plural_attempts(attempts)
    if isinstance(exc, _BODY_ERRORS):
        what = f"sent a truncated or corrupt body ({tries})"
        return target.error(UpstreamBadResponse, what, 502, attempts=attempts)
    root = root_cause(exc)
    timed_out = isinstance(root, (_ReadTimeoutError, ConnectTimeoutError)) or isinstance(
        exc, requests.Timeout
    )
    if isinstance(root, NewConnectionError) or not timed_out:
        why = _why_unreachable(root)
        return target.error(
            UpstreamUnavailable,
            f"is unreachable ({why}, {tries})",
            503,
            attempts=attempts,
            reason=why,
            suggestion=f"Check that the service at {target.base_url} is running and that its "
            "base URL is configured correctly, then retry.",
        )
    connect = isinstance(root, ConnectTimeoutError) or isinstance(exc, requests.ConnectTimeout)
    limit = timeout[0] if connect else timeout[1]
    phase = "connect" if connect else "read"
    return target.error(
        UpstreamTimeout,
        f"did not respond within the {limit:g} s {phase} timeout ({tries})",
        504,
        attempts=attempts,
        timeout_seconds=limit,
        phase=phase,
        suggestion="The service is slow or overloaded; retry later or raise its timeout.",
    )


def upstream_message(response: requests.Response) -> str:
    """OpenAI's {"error": {"message"}} or a short slice of whatever else the body says."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:300]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return body[key][:300]
    return str(body)[:300]


def status_error(target: Target, response: requests.Response, attempts: int) -> UpstreamError:
    """4xx keeps the upstream's words; 401/403 say the key was refused; 5xx → 502/503."""
    status = response.status_code
    said = target.scrub(upstream_message(response))
    common: dict[str, Any] = {"attempts": attempts, "upstream_status": status}
    if status in (401, 403):
        who = f"the {target.name} at {target.host}"
        what = f"the API key for {who} was refused (HTTP {status}: {said})"
        hint = "Check the API key configured for this upstream."
        return target.error(UpstreamRejected, what, 502, full=True, suggestion=hint, **common)
    if 400 <= status < 500:
        if response.headers.get("retry-after"):
            common["retry_after"] = response.headers["retry-after"]
        what = f"rejected the request (HTTP {status}): {said}"
        return target.error(UpstreamRejected, what, status, upstream_message=said, **common)
    if status >= 500:
        what = f"kept failing (HTTP {status} after {plural_attempts(attempts)}): {said}"
        hint = "The upstream service is having problems; retry later."
        status_hint = 503 if status == 503 else 502
        return target.error(UpstreamServerError, what, status_hint, suggestion=hint, **common)
    what = f"answered with unexpected HTTP {status}"
    return target.error(UpstreamBadResponse, what, 502, **common)


def deadline_error(target: Target, budget: float, attempts: int, received: int) -> UpstreamError:
    """The whole call outran its wall-clock deadline: say which limit and how far it got."""
    what = (
        f"did not finish answering within the {budget:g} s deadline "
        f"({plural_attempts(attempts)}, {received} bytes of the body received)"
    )
    return target.error(
        UpstreamDeadline,
        what,
        504,
        attempts=attempts,
        deadline_seconds=budget,
        received_bytes=received,
        phase="deadline",
        suggestion="The service is answering too slowly; retry later or raise its time budget.",
    )
