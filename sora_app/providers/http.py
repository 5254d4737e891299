"""One resilient HTTP client for every upstream (video API, LLM, TTS, images, stock search).

Pooled connections, separate connect/read timeouts, urllib3 retries with backoff + jitter
(see http_retry), typed errors (see http_errors) and a cached health probe, so a down
dependency fails fast with a clear message instead of costing a timeout per job. Every call
also has a wall-clock deadline and an optional cancel check, enforced while the body is read
(see http_guard), and a bad body (malformed JSON, truncation) is retried within the budget.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from sora_app.observe import request_context as request_ids
from sora_app.observe.meters import meters
from sora_app.pipeline.types import CancelCheck, Cancelled
from sora_app.providers.http_body import (
    Check,
    Glitch,
    chunks,
    fill,
    parse_json,
    read_all,
    read_error_body,
    save_body,
)
from sora_app.providers.http_errors import (
    Target,
    UpstreamBadResponse,
    UpstreamDeadline,
    UpstreamError,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
    deadline_error,
    status_error,
    transport_error,
)
from sora_app.providers.http_guard import CANCEL, CallGuard, GuardTripped
from sora_app.providers.http_health import HealthProbe
from sora_app.providers.http_retry import Attempts, BudgetRetry, RetryAdapter, backoff_wait

__all__ = [
    "HealthProbe",
    "UpstreamBadResponse",
    "UpstreamClient",
    "UpstreamDeadline",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamServerError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Consume = Callable[[requests.Response, CallGuard], T]
"""Reads one attempt's body under the guard; raises Glitch for a fault worth a retry."""
_JITTER = 0.25


class UpstreamClient:
    """A pooled requests Session for one upstream with timeouts, retries and typed errors."""

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None,
        connect_timeout: float,
        read_timeout: float,
        max_attempts: int,
        max_total_seconds: float,
        backoff: float,
        *,
        auth_scheme: str = "Bearer",
        backoff_max: float = 8.0,
        pool_size: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        host = urlsplit(self.base_url).netloc
        self.target = Target(name, host, self.base_url.rstrip("/"), api_key or None)
        self.timeouts = (connect_timeout, read_timeout)
        self.max_attempts = max(1, max_attempts)
        self.max_total_seconds = max_total_seconds
        self.backoff, self.backoff_max = backoff, backoff_max
        self.should_cancel: CancelCheck | None = None
        self._auth = f"{auth_scheme} {api_key}".strip() if api_key else None
        template = BudgetRetry(
            total=self.max_attempts - 1,
            redirect=0,
            allowed_methods=None,
            backoff_factor=backoff,
            backoff_max=backoff_max,
            backoff_jitter=_JITTER,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        self._adapter = RetryAdapter(template, pool_size)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "sora_app/0.1"
        self.session.mount("http://", self._adapter)
        self.session.mount("https://", self._adapter)

    def __repr__(self) -> str:
        return f"UpstreamClient(name={self.target.name!r}, base_url={self.target.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> UpstreamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def with_cancel(self, should_cancel: CancelCheck | None) -> UpstreamClient:
        """A view on the same pool whose calls stop (raising Cancelled) once should_cancel().

        The check also runs on the call's watchdog thread, so it must be thread-safe (the
        job runner's reads threading.Events). Don't close a view: it shares the session.
        """
        view = copy.copy(self)
        view.should_cancel = should_cancel
        return view

    def url_for(self, path: str) -> str:
        """Relative paths hang off base_url; absolute URLs (download links) pass through."""
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def _headers(self, url: str, extra: dict[str, str] | None) -> dict[str, str]:
        """Send the key only to our own host, never to a download link elsewhere."""
        headers = dict(extra or {})
        if self._auth and urlsplit(url).netloc == self.target.host:
            headers["Authorization"] = self._auth
        request_id = request_ids.current.get()
        if request_id and urlsplit(url).netloc == self.target.host:
            headers.setdefault(request_ids.HEADER, request_id)  # their logs meet ours
        return headers

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        """One logical call whose whole body is read under the deadline; retried per policy.

        Keywords: json, data, files, params, headers, expected (statuses), retry, timeout
        (connect, read), deadline_seconds (default max_total_seconds).
        """
        limit = (kw.get("timeout") or self.timeouts)[1]
        return self._call(method, path, lambda r, g: fill(r, read_all(r, g, limit)), **kw)

    def json_reply(
        self, method: str, path: str, *, check: Check | None = None, **kw: Any
    ) -> tuple[dict, Mapping[str, str]]:
        """Decode an OpenAI-style object and keep the headers; a bad reply is retried."""
        limit = (kw.get("timeout") or self.timeouts)[1]

        def decode(response: requests.Response, guard: CallGuard) -> tuple[dict, Any]:
            fill(response, read_all(response, guard, limit))
            return parse_json(self.target, response, check), response.headers

        return self._call(method, path, decode, **kw)

    def get_json(self, path: str, *, params: dict[str, Any] | None = None, **kw: Any) -> dict:
        """GET and decode an OpenAI-style JSON object (`check=` may refuse a bad one)."""
        return self.json_reply("GET", path, params=params, **kw)[0]

    def post_json(self, path: str, json: Any = None, **kw: Any) -> dict:
        """POST (JSON, or multipart via data=/files=) and decode the JSON object returned."""
        return self.json_reply("POST", path, json=json, **kw)[0]

    def stream_data(
        self, path: str, json: Any, on_data: Callable[[str, int], None], **kw: Any
    ) -> None:
        """POST, then hand each server-sent `data:` payload to `on_data(payload, attempt)` as
        it arrives (OpenAI's `stream: true`). A stream cut short is retried from its start
        under the same deadline; `attempt` tells the receiver that it starts over."""
        limit = (kw.get("timeout") or self.timeouts)[1]
        attempts = iter(range(1, 1_000))

        def consume(response: requests.Response, guard: CallGuard) -> None:
            attempt, pending = next(attempts), b""
            for chunk in chunks(response, guard, limit, noun="stream"):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if line.startswith(b"data:"):
                        on_data(line[5:].strip().decode("utf-8", "replace"), attempt)

        self._call("POST", path, consume, json=json, **kw)

    def _call(
        self,
        method: str,
        path: str,
        consume: Consume[T],
        *,
        retry: bool = True,
        deadline_seconds: float | None = None,
        **kw: Any,
    ) -> T:
        """Attempts until one's body is consumed, under one deadline and cancel check."""
        budget = deadline_seconds or self.max_total_seconds
        plan = Attempts(self.target.name, time.monotonic() + budget)
        outcome = "failed"
        with CallGuard(plan.deadline, self.should_cancel) as guard:
            plan.guard = guard
            try:
                while True:
                    try:
                        result = self._attempt(method, self.url_for(path), plan, retry, consume, kw)
                        outcome = "ok"
                        return result
                    except Glitch as glitch:
                        self._retry_or_raise(plan, guard, glitch, retry)
            except GuardTripped:
                outcome = "cancelled" if guard.tripped == CANCEL else "timeout"
                raise self._stopped(guard, plan, budget) from None
            finally:
                meters().upstream_calls.labels(self.target.name, outcome).inc()
                if plan.count > 1:
                    meters().upstream_retries.labels(self.target.name).inc(plan.count - 1)

    def _attempt(
        self,
        method: str,
        url: str,
        plan: Attempts,
        retry: bool,
        consume: Consume[T],
        kw: dict[str, Any],
    ) -> T:
        """Send (urllib3 retries connection errors and statuses), then consume the body."""
        guard = plan.guard
        assert guard is not None
        limits = kw.get("timeout") or self.timeouts
        send = {k: v for k, v in kw.items() if k not in ("timeout", "expected", "headers")}
        guard.check()
        guard.received = 0
        self._adapter.plan(plan if retry else None)
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, stream=True, headers=self._headers(url, kw.get("headers")),
                timeout=limits, **send,
            )  # fmt: skip
        except requests.RequestException as exc:
            if guard.tripped:
                raise GuardTripped(guard.tripped) from None
            raise transport_error(self.target, exc, plan.count, limits) from None
        finally:
            self._adapter.plan(None)
        with response:
            log.debug(
                "upstream call upstream=%s method=%s path=%s status=%d attempts=%d elapsed_ms=%d",
                self.target.name, method, self.target.scrub(urlsplit(url).path),
                response.status_code, plan.count, (time.monotonic() - started) * 1000,
            )  # fmt: skip
            try:
                if response.status_code not in kw.get("expected", (200,)):
                    read_error_body(response, guard, limits[1])
                    raise status_error(self.target, response, plan.count)
                return consume(response, guard)
            finally:
                guard.forget()  # before the connection goes back to the pool

    def _retry_or_raise(
        self, plan: Attempts, guard: CallGuard, glitch: Glitch, retry: bool
    ) -> None:
        """Back off and count another attempt, or raise the glitch once the budget is spent."""
        wait = backoff_wait(self.backoff, self.backoff_max, _JITTER, plan.count)
        spent = plan.count >= self.max_attempts or time.monotonic() + wait > plan.deadline
        if not retry or spent:
            raise glitch.error(self.target, plan.count)
        log.info(
            "upstream retry upstream=%s attempt=%d cause=%s wait_s=%.2f",
            self.target.name, plan.count + 1, glitch.cause, wait,
        )  # fmt: skip
        guard.sleep(wait)
        plan.count += 1

    def _stopped(self, guard: CallGuard, plan: Attempts, budget: float) -> Exception:
        """A tripped guard: Cancelled for a cancel, else the deadline, named with its numbers."""
        name = self.target.name
        if guard.tripped == CANCEL:
            log.info("upstream call cancelled upstream=%s attempts=%d", name, plan.count)
            return Cancelled(f"cancelled while waiting for the {name}")
        return deadline_error(self.target, budget, plan.count, guard.received)

    def download(self, path: str, dest: Path, max_bytes: int, **kw: Any) -> Path:
        """Stream to a temp file beside dest under the cap, then rename; a cut retries."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        kw["headers"] = {"Accept-Encoding": "identity", **kw.get("headers", {})}
        limit = (kw.get("timeout") or self.timeouts)[1]

        def save(response: requests.Response, guard: CallGuard) -> int:
            return save_body(self.target, response, guard, dest, max_bytes, limit)

        written = self._call("GET", path, save, **kw)
        log.debug("upstream download upstream=%s bytes=%d dest=%s", self.target.name, written, dest)
        return dest
