"""Real local services (Redis, PostgreSQL) for the tests that need them.

Missing services skip with the reason on a developer's box, but fail where
SORA_REQUIRE_SERVICES=1 (CI), so a green CI run always exercised them.
"""

from __future__ import annotations

import os

import pytest

REDIS_URL = os.environ.get("SORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def unavailable(reason: str) -> None:
    if os.environ.get("SORA_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (SORA_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def redis_url() -> str:
    """A reachable Redis database for tests, emptied first."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        client.close()
    return REDIS_URL
