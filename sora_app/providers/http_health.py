"""A cached reachability check per upstream, so /health is cheap and a down one fails fast."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from sora_app.providers.http_errors import UpstreamError

if TYPE_CHECKING:
    from sora_app.providers.http import UpstreamClient


class HealthProbe:
    """A cached reachability check, so /health is cheap and a down upstream fails fast."""

    def __init__(
        self,
        client: UpstreamClient,
        path: str,
        ttl_seconds: float,
        timeout: tuple[float, float] | None = None,
    ) -> None:
        self.client = client
        self.path = path
        self.ttl_seconds = ttl_seconds
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cached: dict[str, Any] | None = None
        self._cached_at = 0.0

    def _fresh(self) -> bool:
        return self._cached is not None and time.monotonic() - self._cached_at < self.ttl_seconds

    def check(self) -> dict[str, Any]:
        """Return the cached result while fresh; failures are cached too, on purpose."""
        with self._lock:
            if self._fresh() and self._cached is not None:
                return dict(self._cached)
            started = time.monotonic()
            try:
                limits = self.timeout or self.client.timeouts
                self.client.request(
                    "GET", self.path, retry=False, timeout=limits, deadline_seconds=sum(limits)
                ).close()
                ok, message = True, "ok"
            except UpstreamError as exc:
                ok, message = False, exc.message
            self._cached = {
                "ok": ok,
                "latency_ms": int((time.monotonic() - started) * 1000),
                "message": message,
                "checked_at": time.time(),
                "upstream": self.client.target.name,
                "host": self.client.target.host,
            }
            self._cached_at = time.monotonic()
            return dict(self._cached)

    def known_down(self) -> bool:
        """True only while a fresh cached probe says down: lets callers fail fast for free."""
        with self._lock:
            return bool(self._fresh() and self._cached and not self._cached["ok"])
