"""One resilient HTTP client for every upstream (video API, LLM, TTS, images, stock search).

Pooled connections, separate connect/read timeouts, urllib3 retries with backoff + jitter
(see http_retry), typed errors (see http_errors) and a cached health probe, so a down
dependency fails fast with a clear message instead of costing a timeout per job.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import requests

from sora_app.providers.http_errors import (
    Target,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRejected,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
    status_error,
    transport_error,
)
from sora_app.providers.http_retry import Attempts, BudgetRetry, RetryAdapter

__all__ = [
    "HealthProbe",
    "UpstreamBadResponse",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamServerError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024


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
        self._auth = f"{auth_scheme} {api_key}".strip() if api_key else None
        template = BudgetRetry(
            total=self.max_attempts - 1,
            redirect=0,
            allowed_methods=None,
            backoff_factor=backoff,
            backoff_max=backoff_max,
            backoff_jitter=0.25,
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
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        params: dict[str, Any] | None = None,
        stream: bool = False,
        expected: tuple[int, ...] = (200,),
        headers: dict[str, str] | None = None,
        retry: bool = True,
        timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        """One logical call: retried per policy, then the expected response or a typed error."""
        url = self.url_for(path)
        limits = timeout or self.timeouts
        plan = Attempts(self.target.name, time.monotonic() + self.max_total_seconds)
        started = time.monotonic()
        self._adapter.plan(plan if retry else None)
        try:
            response = self.session.request(
                method,
                url,
                json=json,
                data=data,
                files=files,
                params=params,
                stream=stream,
                headers=self._headers(url, headers),
                timeout=limits,
            )
        except requests.RequestException as exc:
            raise transport_error(self.target, exc, plan.count, limits) from None
        finally:
            self._adapter.plan(None)
        log.debug(
            "upstream call upstream=%s method=%s path=%s status=%d attempts=%d elapsed_ms=%d",
            self.target.name,
            method,
            self.target.scrub(urlsplit(url).path),
            response.status_code,
            plan.count,
            (time.monotonic() - started) * 1000,
        )
        if response.status_code not in expected:
            with response:
                raise status_error(self.target, response, plan.count)
        return response

    def get_json(self, path: str, *, params: dict[str, Any] | None = None, **kw: Any) -> dict:
        """GET and decode an OpenAI-style JSON object."""
        return self._json(self.request("GET", path, params=params, **kw))

    def post_json(self, path: str, json: Any = None, **kw: Any) -> dict:
        """POST (JSON, or multipart via data=/files=) and decode the JSON object returned."""
        return self._json(self.request("POST", path, json=json, **kw))

    def _json(self, response: requests.Response) -> dict:
        """Parse a body or raise UpstreamBadResponse; every OpenAI-style body is an object."""
        try:
            body = response.json()
        except ValueError:
            snippet = self.target.scrub(response.text[:80])
            what = f"returned malformed JSON: {snippet!r}"
            raise self.target.error(UpstreamBadResponse, what, 502) from None
        if not isinstance(body, dict):
            raise self.target.error(UpstreamBadResponse, "returned JSON that is not an object", 502)
        return body

    def download(self, path: str, dest: Path, max_bytes: int, **kw: Any) -> Path:
        """Stream to a temp file beside dest, check size and length, then rename atomically."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        headers = {"Accept-Encoding": "identity", **kw.pop("headers", {})}
        response = self.request("GET", path, stream=True, headers=headers, **kw)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with response, os.fdopen(fd, "wb") as out:
                written = self._copy_body(response, out, max_bytes)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        log.debug("upstream download upstream=%s bytes=%d dest=%s", self.target.name, written, dest)
        return dest

    def _copy_body(self, response: requests.Response, out: IO[bytes], max_bytes: int) -> int:
        """Copy under the size cap; a body shorter than Content-Length is a truncated download."""
        declared = response.headers.get("Content-Length", "")
        expected = int(declared) if declared.isdigit() else None
        too_big = f"sent more than the {max_bytes} bytes allowed"
        if expected is not None and expected > max_bytes:
            raise self.target.error(UpstreamBadResponse, too_big, 502, content_length=expected)
        written, broken = 0, False
        try:
            for chunk in response.iter_content(chunk_size=_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise self.target.error(UpstreamBadResponse, too_big, 502)
                out.write(chunk)
        except requests.RequestException:
            broken = True
        if broken or (expected is not None and written != expected):
            what = f"sent a truncated download ({written} of {expected or '?'} bytes)"
            raise self.target.error(UpstreamBadResponse, what, 502, received_bytes=written)
        return written


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
                self.client.request("GET", self.path, retry=False, timeout=self.timeout).close()
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
