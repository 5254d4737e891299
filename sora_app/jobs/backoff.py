"""Loops that touch the database back off while it fails, and say so once, not every scan.

A read-only or full database fails every claim, reap and heartbeat the same way; a
traceback every two seconds would bury the one line an operator needs.
"""

from __future__ import annotations

import logging

from ..space import database_problem

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
"""The longest a loop waits between tries while the database keeps failing."""


class Backoff:
    """Counts a loop's consecutive failures: doubling waits, one log line per state change."""

    def __init__(self, loop: str, base: float, cap: float = MAX_BACKOFF_SECONDS) -> None:
        self.loop = loop
        self.base = base
        self.cap = max(cap, base)
        self.failures = 0
        self._reason: str | None = None

    def failed(self, exc: BaseException) -> float:
        """Log a new kind of failure (a traceback only for unexpected ones); return the wait."""
        problem = database_problem(exc)
        reason = problem or type(exc).__name__
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** min(self.failures - 1, 30))
        if reason != self._reason:
            self._reason = reason
            if problem is not None:
                log.warning(
                    "event=database_unavailable loop=%s reason=%s retry_max_s=%.0f error=%s",
                    self.loop, problem, self.cap, exc,
                )  # fmt: skip
            else:
                log.error("event=loop_failed loop=%s error=%r", self.loop, exc, exc_info=exc)
        return delay

    def succeeded(self) -> None:
        """Back to normal: say so once, and start the next failure's waits from the base."""
        if self.failures:
            log.info("event=loop_recovered loop=%s failures=%s", self.loop, self.failures)
        self.failures = 0
        self._reason = None
