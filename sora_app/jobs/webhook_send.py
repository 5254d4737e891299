"""One webhook attempt: sign the body the Standard Webhooks way and POST it to a checked IP.

The URL is checked again here (an allow-list may have shrunk, a name may now resolve
elsewhere) and the connection goes to the address that check approved, with the name in
Host and in TLS (SNI and certificate), so a DNS answer that changes in between cannot
redirect it. Redirects are not followed; the whole attempt has one wall-clock deadline
(enforced mid-read by the upstream client's CallGuard) and at most a few KB of the answer
are read.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook
from urllib3.exceptions import HTTPError

from ..providers.http_guard import CallGuard
from ..providers.pinned import pinned_pool
from ..providers.ssrf import AllowList, Target, UnsafeURL, check_url

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 4096
USER_AGENT = "sora_app-webhooks/0.1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: a status code (None: no answer) and why it fell short."""

    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (Retry-After), if it did."""
    refused: bool = False
    """The URL may not be called at all (a retry would change nothing)."""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def sign_headers(secret: str, msg_id: str, body: str, now: float) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature (v1 = HMAC-SHA256, base64)."""
    moment = datetime.fromtimestamp(int(now), UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body),
    }


def attempt(
    url: str, msg_id: str, body: str, secret: str, allow: AllowList, timeout: float
) -> Outcome:
    """Check the URL, then send one signed POST; never raises for the receiver's faults."""
    try:
        target = check_url(url, allow)
    except UnsafeURL as exc:
        return Outcome(error=f"refused: {exc.message}", refused=not exc.retryable)
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **sign_headers(secret, msg_id, body, time.time()),
    }
    return _post(target, headers, body.encode(), timeout)


def _post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> Outcome:
    pool = pinned_pool(target, timeout)
    guard = CallGuard(time.monotonic() + timeout)
    try:
        with guard:
            response = pool.urlopen(
                "POST", target.path, body=body, headers=headers, redirect=False,
                retries=False, preload_content=False, assert_same_host=False,
            )  # fmt: skip
            try:
                answer = response.read(MAX_ANSWER_BYTES)
            finally:
                response.release_conn()
    except (HTTPError, OSError) as exc:
        if guard.tripped:
            return Outcome(error=f"no answer within {timeout:g} s")
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        pool.close()
    code = response.status
    if 200 <= code < 300:
        return Outcome(code)
    error = f"HTTP {code}" + (f": {_snippet(answer)}" if answer else "")
    if 300 <= code < 400:
        error = f"HTTP {code}: redirects are not followed ({response.headers.get('Location', '')})"
    return Outcome(code, error[:300], retry_after(response.headers.get("Retry-After")))


def _snippet(answer: bytes) -> str:
    return " ".join(answer[:200].decode("utf-8", "replace").split())


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date), if it says."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
