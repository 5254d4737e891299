"""Connections to an address providers.ssrf approved, not to whatever the name says now.

The pool connects to the checked IP and carries the name in Host, SNI and the certificate
check, so a DNS answer that changes between the check and the call cannot redirect it.
"""

from __future__ import annotations

import ssl
from typing import Any

from urllib3 import HTTPConnectionPool, Timeout

from .http_guard import GUARDED_POOLS
from .ssrf import Target


def pinned_pool(target: Target, timeout: float) -> HTTPConnectionPool:
    """One connection to `target.ip`, no retries: each call decides for itself."""
    kw: dict[str, Any] = {"timeout": Timeout(connect=min(5.0, timeout), read=timeout)}
    if target.scheme == "https":
        kw.update(
            ssl_context=ssl.create_default_context(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    return GUARDED_POOLS[target.scheme](target.ip, target.port, retries=False, maxsize=1, **kw)
