"""Fetch a file a client named by URL (a /v1 `input_reference.image_url`), SSRF-safe.

The URL is checked by providers.ssrf and fetched from the checked address only; redirects
are not followed (each hop would need its own check); the body is capped and the whole
fetch has one wall-clock deadline, so a slow or endless answer costs at most that.
"""

from __future__ import annotations

import time
from pathlib import Path

from urllib3.exceptions import HTTPError

from .http_guard import CallGuard
from .pinned import pinned_pool
from .ssrf import AllowList, UnsafeURL, check_url

CHUNK = 64 * 1024
USER_AGENT = "sora_app/0.1 (+input_reference)"


class FetchFailed(Exception):
    """The URL could not be fetched; the text says why (for the client)."""


def fetch_to(url: str, dest: Path, max_bytes: int, allow: AllowList, timeout: float) -> None:
    """Save the answer's body at `dest`, or raise UnsafeURL / FetchFailed."""
    target = check_url(url, allow)
    pool = pinned_pool(target, timeout)
    guard = CallGuard(time.monotonic() + timeout)
    headers = {"Host": target.host_header, "User-Agent": USER_AGENT, "Accept": "image/*"}
    try:
        with guard, dest.open("wb") as out:
            response = pool.urlopen(
                "GET", target.path, headers=headers, redirect=False, retries=False,
                preload_content=False, assert_same_host=False,
            )  # fmt: skip
            try:
                if response.status != 200:
                    raise FetchFailed(f"{target.host} answered HTTP {response.status}")
                _copy(response, out, max_bytes)
            finally:
                response.release_conn()
    except (HTTPError, OSError) as exc:
        if guard.tripped:
            raise FetchFailed(f"{target.host} did not answer within {timeout:g} s") from None
        raise FetchFailed(f"could not fetch from {target.host}: {type(exc).__name__}") from None
    finally:
        pool.close()


def _copy(response, out, max_bytes: int) -> None:
    size = 0
    while chunk := response.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FetchFailed(f"the file is over {max_bytes} bytes")
        out.write(chunk)


__all__ = ["FetchFailed", "UnsafeURL", "fetch_to"]
