"""Real local services (Redis, PostgreSQL) for the tests that need them.

Missing services skip with the reason on a developer's box, but fail where
SORA_REQUIRE_SERVICES=1 (CI), so a green CI run always exercised them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest


def _redis_url() -> str:
    """Database 15 alone; under pytest-xdist each worker its own (1-7), since tests flush it.

    With SORA_TEST_REDIS_URL (the CI PostgreSQL pass: .../8) xdist workers count up from its
    number (8, 9); 10-14 are the Celery cluster's (one file: one worker at once).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker[2:].isdigit() else None
    given = os.environ.get("SORA_TEST_REDIS_URL")
    if given:
        base, _, db = given.rpartition("/")
        if index is None or not db.isdigit():
            return given
        return f"{base}/{int(db) + index}"
    return f"redis://127.0.0.1:6379/{15 if index is None else 1 + index % 7}"


REDIS_URL = _redis_url()


def unavailable(reason: str) -> None:
    if os.environ.get("SORA_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (SORA_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def redis_url(db: int | None = None) -> str:
    """A reachable Redis database for tests, emptied first; `db` picks another number, so
    tests that run at once (or leave workers behind) never share keys."""
    import redis

    url = REDIS_URL if db is None else f"{REDIS_URL.rsplit('/', 1)[0]}/{db}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        unavailable(f"Redis at {url} is not reachable: {exc}")
    finally:
        client.close()
    return url


POSTGRES_URL = os.environ.get(
    "SORA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL whose connections live in a fresh, private schema, dropped afterwards.

    Tests on the shared `test` database never see each other's tables.
    """
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        unavailable(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc.orig}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{name}"
    finally:
        with engine.begin() as conn:
            # A connection left inside a transaction on these tables would block the drop
            # forever; fail after a while instead, naming the schema.
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()
