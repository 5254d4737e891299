"""The database schema, brought to the current revision with Alembic (Flask-Migrate).

Every schema change is a migration in `sora_app/migrations/versions`, so an upgrade keeps the
jobs of a running installation, on SQLite and on PostgreSQL alike. Databases made by earlier
releases with `create_all` hold the baseline tables without Alembic's bookkeeping: they are
stamped as the baseline first, then upgraded like any other.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, text

from .extensions import db, migrate

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x534F_5241_4D49_4752
"""The PostgreSQL advisory lock's name: any fixed 64-bit number ("SORAMIGR" in ASCII)."""
SCHEMA_BEFORE_KEY = "sora_schema_before"
"""app.extensions: the revision the database was at when this process started (None: new)."""
BASELINE = "0001_baseline"
"""The schema as `create_all` made it before migrations existed."""


def init_migrations(app: Flask) -> None:
    """Bind Flask-Migrate, so `flask --app sora_app db …` works on the project's migrations.

    Batch mode lets Alembic change SQLite tables (it rebuilds them; SQLite's ALTER is small).
    """
    migrate.init_app(
        app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True
    )


def _config() -> Config:
    """The Alembic configuration Flask-Migrate would build, for the command API."""
    return migrate.get_config(str(MIGRATIONS_DIR))


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError("no migrations found in sora_app/migrations")
    return head


def current_revision() -> str | None:
    """The revision the database is at (None: never migrated)."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def revisions_between(lower: str | None, upper: str) -> list[tuple[str, str]]:
    """The migrations after `lower` up to `upper`, oldest first: (revision, its first line)."""
    if lower == upper:
        return []
    script = ScriptDirectory.from_config(_config())
    found = script.iterate_revisions(upper, lower or "base")
    return [(rev.revision, (rev.doc or "").splitlines()[0]) for rev in reversed(list(found))]


def upgrade_schema() -> str:
    """Bring the database to the newest revision; returns it. Call inside an app context.

    Cheap when nothing is to do (one query), so every process start may call it. Callers hold
    a file lock against parallel workers on one host; on PostgreSQL an advisory lock also keeps
    hosts that start together from migrating at once.
    """
    head = head_revision()
    if current_revision() == head:
        return head
    with _across_hosts():
        return _upgrade(head)


@contextlib.contextmanager
def _across_hosts() -> Iterator[None]:
    """On PostgreSQL, a session advisory lock: API hosts and workers starting together share one
    database but not the file lock the caller holds, and must not migrate it twice at once."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()


def _upgrade(head: str) -> str:
    """Stamp a database from before migrations, then upgrade; re-checked under the lock."""
    current = current_revision()
    if current == head:
        return head
    if current is None and inspect(db.engine).has_table("jobs"):
        log.info("event=schema_stamped revision=%s reason=made_before_migrations", BASELINE)
        command.stamp(_config(), BASELINE)
    command.upgrade(_config(), "head")
    log.info("event=schema_upgraded from=%s to=%s", current or "empty", head)
    return head
