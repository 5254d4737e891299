"""The counters and histograms, apart from Flask: providers and jobs count into them too.

prometheus-client decides *when it is first imported* whether values go to per-process files
(multiprocess mode: PROMETHEUS_MULTIPROC_DIR, which gunicorn_conf sets) or stay in memory.
gunicorn's master imports this package before it reads that setting, and its workers are
forks of it, so nothing here imports prometheus-client until a worker first counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Meters:
    http_seconds: Any
    upstream_calls: Any
    upstream_retries: Any
    stage_seconds: Any
    streams_open: Any


@functools.cache
def meters() -> Meters:
    """The process's metric objects, made (and prometheus-client imported) on first use."""
    from prometheus_client import Counter, Gauge, Histogram

    return Meters(
        http_seconds=Histogram(
            "sora_http_request_duration_seconds", "Time to answer a request (to the first byte).",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        ),
        upstream_calls=Counter(
            "sora_upstream_calls_total", "Logical calls to hosted services, by outcome.",
            ["upstream", "outcome"],
        ),
        upstream_retries=Counter(
            "sora_upstream_retries_total", "Attempts repeated after a transient failure.",
            ["upstream"],
        ),
        stage_seconds=Histogram(
            "sora_job_stage_duration_seconds", "Wall time of each finished job stage.",
            ["stage"], buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
        ),
        streams_open=Gauge(
            "sora_event_streams_open", "Open live streams (SSE, WebSocket, Socket.IO).",
            multiprocess_mode="livesum",
        ),
    )  # fmt: skip
