"""Which database the whole suite runs on: SQLite files (default) or PostgreSQL.

`SORA_TEST_DATABASE=postgresql make test` runs every test's app and server on PostgreSQL
instead (`make test-postgresql`). Each instance folder gets its own schema on the shared
database, exactly as on SQLite each gets its own `test.sqlite` file: a test that builds two
apps on one folder shares their jobs, two folders stay apart. Schemas are dropped after the
test that made them (or at the end of the run for module-wide servers).

Tests of a SQLite file's own behaviour (a read-only file, a full disk under the database,
the change counter beside it) are marked `sqlite_only`; on PostgreSQL they are deselected
with that reason, since their PostgreSQL counterparts are separate tests that run in both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SUITE_DATABASE = os.environ.get("SORA_TEST_DATABASE", "sqlite")
if SUITE_DATABASE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"SORA_TEST_DATABASE must be sqlite or postgresql, not {SUITE_DATABASE!r}")

_schemas: dict[Path, tuple[str, object]] = {}
"""Instance folder → (database URL, the context that drops its schema)."""


def on_postgresql() -> bool:
    return SUITE_DATABASE == "postgresql"


def database_url(instance: Path) -> str:
    """The database of the app or server whose instance folder is `instance`.

    A helper process a test starts gets its test's database through SORA_TEST_DATABASE_URL.
    """
    if pinned := os.environ.get("SORA_TEST_DATABASE_URL"):
        return pinned
    if not on_postgresql():
        return f"sqlite:///{instance / 'test.sqlite'}"
    key = Path(instance).resolve()
    if key not in _schemas:
        from tests.services import postgres_schema

        schema = postgres_schema()
        _schemas[key] = (schema.__enter__(), schema)
    return _schemas[key][0]


def read_only_url(url: str) -> str:
    """The same database, opened so that every write fails as on a read-only disk."""
    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    # PostgreSQL: every transaction of these connections is read-only.
    return url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20", 1)


def drop_schemas(under: Path | None = None) -> None:
    """Drop the schemas of instance folders below `under` (all of them when None)."""
    for key in [k for k in _schemas if under is None or k.is_relative_to(under)]:
        _url, schema = _schemas.pop(key)
        schema.__exit__(None, None, None)


def skip_reason(item: pytest.Item) -> str | None:
    """Why `item` does not run on this suite's database, or None when it does."""
    if on_postgresql() and item.get_closest_marker("sqlite_only"):
        return "tests a SQLite file's own behaviour; the suite runs on PostgreSQL"
    return None
