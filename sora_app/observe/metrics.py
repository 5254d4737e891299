"""Prometheus metrics at /metrics: what each process counts, and the job table at scrape time.

Counters and histograms (observe.meters) live in the process that counts them; under
gunicorn they are written to the metrics folder (prometheus-client's multiprocess mode, set
up by gunicorn_conf), so a scrape of any worker sums every worker. Jobs by status and the
queue depth are read from the database when scraped, so every web host shows the same, true
numbers whichever executor (threads or Celery) runs the jobs. Celery workers count their own
stage times and upstream calls in their own processes: scrape those with their own exporter.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, g, request

from ..api.docs import Binary, documented
from ..errors import APIError
from .meters import meters

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""Where prometheus-client's multiprocess mode keeps each process's values (its own name)."""


class JobCollector:
    """Jobs by status and the queue depth, read from the job table when scraped."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from ..jobs import service  # needs the app's database; metrics must not at import

        with self.app.app_context():
            counts = service.status_counts()
        jobs = GaugeMetricFamily("sora_jobs", "Jobs in the table, by status.", labels=["status"])
        for status, count in sorted(counts.items()):
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily(
            "sora_queue_depth", "Jobs waiting for a worker.", value=counts.get("queued", 0)
        )


class _ThisProcess:
    """The process's own metrics, when there is no multiprocess folder (one process)."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client import REGISTRY

        yield from REGISTRY.collect()


def _registry(app: Flask) -> Any:
    """One per app: every worker's metrics (or this process's) plus the job table."""
    registry = app.extensions.get("sora_metrics")
    if registry is None:
        from prometheus_client import CollectorRegistry, multiprocess

        meters()  # made before the first scrape, so every series is there from the start
        registry = CollectorRegistry()
        if os.environ.get(MULTIPROC_ENV):
            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(_ThisProcess())
        registry.register(JobCollector(app))
        app.extensions["sora_metrics"] = registry
    return registry


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _observed(response: Response) -> Response:
    """Latency by route template (bounded labels), never by raw path."""
    started = g.pop("metrics_started", None)
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        meters().http_seconds.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response


@documented(
    "Prometheus metrics",
    {200: Binary(("text/plain",), "Prometheus' text exposition format.")},
    auth="public",
    errors={401: "AUTH_REQUIRED (only with SORA_METRICS_TOKEN set)"},
)
def metrics_view() -> Response:
    """GET /metrics; with SORA_METRICS_TOKEN set, only for `Authorization: Bearer <it>`."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    token = current_app.config["METRICS_TOKEN"]
    if token and request.headers.get("Authorization", "") != f"Bearer {token}":
        raise APIError(401, "AUTH_REQUIRED", "Send the metrics token as a Bearer token.")
    body = generate_latest(_registry(current_app._get_current_object()))
    response = Response(body, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def init_metrics(app: Flask) -> None:
    app.before_request(_started)
    app.after_request(_observed)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
