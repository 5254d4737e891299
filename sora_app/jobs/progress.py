"""Maps a stage's local fraction into the global 0-100 range and writes it, throttled."""

from __future__ import annotations

import time
from collections import deque

from ..models import STAGE_RANGES
from ..pipeline.types import ProgressFn
from . import store

__all__ = ["STAGE_RANGES", "ProgressReporter"]
"""STAGE_RANGES lives in models (the one stage registry); re-exported for the runner."""

DETAIL_LINES = 30
"""`details` is a bounded log of the most recent lines, not an ever-growing text."""

WRITE_INTERVAL = 0.25
"""Seconds between progress writes; a stage may report far more often than that."""


class ProgressReporter:
    """Owns one running job's progress, substatus and details; never moves backwards."""

    def __init__(self, job_id: str, owner: str, progress: float, details: str) -> None:
        self.job_id = job_id
        self.owner = owner
        self.progress = progress
        self.substatus = ""
        self.lines: deque[str] = deque(
            (line for line in details.splitlines() if line), maxlen=DETAIL_LINES
        )
        self._last_write = 0.0
        self._dirty = False

    def stage(self, name: str) -> ProgressFn:
        """A callback for one stage: fraction in [0, 1] -> global progress in its range."""
        low, high = STAGE_RANGES[name]

        def report(fraction: float, substatus: str) -> None:
            fraction = min(max(fraction, 0.0), 1.0)
            # Stay below the stage's end until the stage is recorded as done.
            value = min(low + (high - low) * fraction, high - 0.01)
            self.update(value, substatus)

        return report

    def update(self, progress: float, substatus: str, *, force: bool = False) -> None:
        if progress > self.progress:
            # Every view shows whole percents: a write that moves only the fraction would be
            # an event (a new version) that looks exactly like the one before it.
            if int(progress) > int(self.progress):
                self._dirty = True
            self.progress = progress
        if substatus and substatus != self.substatus:
            self.substatus = substatus
            self._dirty = True
        if self._dirty and (force or time.monotonic() - self._last_write >= WRITE_INTERVAL):
            self.flush()

    def log(self, line: str) -> None:
        self.lines.append(line[:200])
        self._dirty = True

    def flush(self) -> None:
        # Whole percents, as every view shows them (see update).
        store.report_progress(
            self.job_id, self.owner, float(int(self.progress)), self.substatus,
            "\n".join(self.lines),
        )  # fmt: skip
        self._last_write = time.monotonic()
        self._dirty = False
