"""One pooled client and one cached health probe per configured upstream, per app."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from ..config import Upstream
from ..providers.http import HealthProbe, UpstreamClient

EXTENSION_KEY = "sora_upstreams"
_lock = threading.Lock()


def _registry(app: Flask) -> dict[str, dict[str, Any]]:
    with _lock:
        return app.extensions.setdefault(EXTENSION_KEY, {"clients": {}, "probes": {}})


def configured(app: Flask, name: str) -> Upstream | None:
    return app.config["UPSTREAMS"].get(name)


def client(app: Flask, name: str) -> UpstreamClient | None:
    """The shared client for `name`, or None when that upstream is not configured."""
    upstream = configured(app, name)
    if upstream is None:
        return None
    clients = _registry(app)["clients"]
    with _lock:
        if name not in clients:
            clients[name] = UpstreamClient(
                upstream.label,
                upstream.base_url,
                upstream.api_key,
                upstream.connect_timeout,
                upstream.read_timeout,
                upstream.max_attempts,
                upstream.max_total_seconds,
                upstream.backoff,
                auth_scheme=upstream.auth_scheme,
            )
        return clients[name]


def health(app: Flask) -> dict[str, dict[str, Any]]:
    """Cached reachability of every configured upstream, so /health never waits on one."""
    probes = _registry(app)["probes"]
    report: dict[str, dict[str, Any]] = {}
    for name, upstream in app.config["UPSTREAMS"].items():
        probe_client = client(app, name)
        with _lock:
            if name not in probes:
                ttl = float(app.config["UPSTREAM_HEALTH_TTL"])
                probes[name] = HealthProbe(probe_client, upstream.health_path, ttl, timeout=(2, 3))
        report[name] = probes[name].check()
    return report
