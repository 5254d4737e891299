"""The retry policy behind UpstreamClient: urllib3's Retry, taught the official client's habits.

urllib3 already does the attempts, backoff and Retry-After; the subclass adds
``retry-after-ms``, ``x-should-retry``, 408/409/429/5xx-only retries and a wall-clock budget,
and the adapter hands each request a fresh Retry so those counters are per call. Attempts are
shared with the client's own retries of bad bodies, and a tripped CallGuard stops them all.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.poolmanager import PoolManager, ProxyManager
from urllib3.util.retry import Retry

from sora_app.providers.http_guard import GUARDED_POOLS, CallGuard

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 409, 429})
"""Retried besides every 5xx, as the official OpenAI client does."""
MAX_RETRY_AFTER = 60.0
"""A server hint above this is ignored in favour of our own backoff, like the official client."""


@dataclass
class Attempts:
    """Mutable per-request bookkeeping shared by every Retry object derived for one call."""

    label: str
    deadline: float
    count: int = 1
    waits: list[float] = field(default_factory=list)
    guard: CallGuard | None = None
    """The call's deadline/cancel watchdog; once it trips, nothing is retried."""


def backoff_wait(factor: float, cap: float, jitter: float, retry: int) -> float:
    """factor, 2x, 4x ... for retry 1, 2, 3 ..., capped, minus up to `jitter` of itself."""
    if retry <= 0 or factor <= 0:
        return 0.0
    value = min(cap, factor * 2 ** (retry - 1))
    return value * (1 - jitter * random.random())


def wants_retry(response: Any) -> bool:
    """x-should-retry wins; otherwise only transient statuses are worth another try."""
    hint = str(response.headers.get("x-should-retry", "")).strip().lower()
    if hint in {"true", "false"}:
        return hint == "true"
    return response.status in RETRY_STATUSES or response.status >= 500


class BudgetRetry(Retry):
    """urllib3 Retry plus retry-after-ms, x-should-retry and a total-time budget."""

    def __init__(self, *args: Any, attempts: Attempts | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.attempts = attempts

    def new(self, **kw: Any) -> BudgetRetry:
        kw.setdefault("attempts", self.attempts)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Hand every error status to increment(), the only hook that sees the headers."""
        return status_code >= 400

    def get_backoff_time(self) -> float:
        """backoff, 2x, 4x ... from the first retry on, capped, minus up to 25 % jitter."""
        return backoff_wait(
            self.backoff_factor, self.backoff_max, self.backoff_jitter, len(self.history)
        )

    def get_retry_after(self, response: Any) -> float | None:
        """Prefer retry-after-ms, then Retry-After (seconds or a date); ignore absurd values."""
        headers = response.headers
        value: float | None = None
        try:
            if headers.get("retry-after-ms"):
                value = float(headers["retry-after-ms"]) / 1000
            elif headers.get("retry-after"):
                value = self.parse_retry_after(headers["retry-after"])
        except (ValueError, InvalidHeader):
            value = None
        if value is None or not 0 < value <= MAX_RETRY_AFTER:
            return None
        return value

    def _planned_wait(self, response: Any) -> float:
        hinted = self.get_retry_after(response) if response is not None else None
        return hinted if hinted is not None else self.get_backoff_time()

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> BudgetRetry:
        """Refuse non-transient statuses, stopped calls and retries that overrun the budget."""
        if response is not None and not wants_retry(response):
            raise MaxRetryError(_pool, url, ResponseError("not retryable"))
        state = self.attempts
        if state is not None and state.guard is not None and state.guard.tripped:
            raise MaxRetryError(_pool, url, error or ResponseError("call stopped"))
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        if state is None:
            return new
        wait = new._planned_wait(response)
        if time.monotonic() + wait > state.deadline:
            raise MaxRetryError(_pool, url, error or ResponseError("retry time budget exhausted"))
        state.count += 1
        state.waits.append(wait)
        cause = f"status={response.status}" if response is not None else type(error).__name__
        log.info(
            "upstream retry upstream=%s attempt=%d cause=%s wait_s=%.2f",
            state.label,
            state.count,
            cause,
            wait,
        )
        return new

    def sleep(self, response: Any = None) -> None:
        """Sleep exactly the wait increment() checked against the budget; a trip wakes it."""
        wait = self.attempts.waits[-1] if self.attempts and self.attempts.waits else 0.0
        guard = self.attempts.guard if self.attempts else None
        if guard is not None:
            guard.pause(wait)  # the next send sees the trip and is refused
        elif wait > 0:
            time.sleep(wait)


class RetryAdapter(HTTPAdapter):
    """Hands urllib3 a fresh Retry per request so attempts and the budget are per call."""

    def __init__(self, template: BudgetRetry, pool_size: int) -> None:
        self._template = template
        self._local = threading.local()
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        """Guarded pools, so a tripped CallGuard can shut a connection blocked mid-read."""
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = GUARDED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # SOCKS managers keep their own classes
            manager.pool_classes_by_scheme = GUARDED_POOLS
        return manager

    @property  # type: ignore[override]
    def max_retries(self) -> Retry:
        """Read once per send(); attempts the call already spent are not granted again.

        No plan (health probes, retry=False) means a single attempt.
        """
        plan: Attempts | None = getattr(self._local, "plan", None)
        if not plan:
            return self._template.new(total=0)
        left = max(0, (self._template.total or 0) - (plan.count - 1))
        return self._template.new(attempts=plan, total=left)

    @max_retries.setter
    def max_retries(self, value: Any) -> None:
        """HTTPAdapter.__init__ assigns a default here; the template replaces it."""

    def plan(self, attempts: Attempts | None) -> None:
        """Attach this thread's bookkeeping to the next send()."""
        self._local.plan = attempts
