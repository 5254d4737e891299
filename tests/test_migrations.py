"""Schema migrations (Alembic via Flask-Migrate) on SQLite and on a real PostgreSQL.

The models and the migrations must describe the same schema; every revision must go down
and up again; a database made by an earlier release (create_all, no Alembic bookkeeping)
must be adopted with its jobs intact.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, text

from sora_app import create_app
from sora_app.extensions import db, migrate
from sora_app.schema import BASELINE, MIGRATIONS_DIR, current_revision, head_revision
from tests.conftest import app_config, close_app
from tests.services import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    with postgres_schema() as url:
        yield url


def _app(tmp_path: Path, url: str) -> Flask:
    return create_app({**app_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url})


def _schema_differences() -> list:
    """What autogenerate would write: the gap between the models and the database."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_a_new_database_is_migrated_to_the_models(tmp_path, database_url) -> None:
    app = _app(tmp_path, database_url)
    try:
        with app.app_context():
            assert current_revision() == head_revision()
            assert _schema_differences() == []
            assert {"jobs", "users", "auth_sessions"} <= set(inspect(db.engine).get_table_names())
    finally:
        close_app(app)


def test_every_revision_goes_down_and_up_again(tmp_path, database_url) -> None:
    """Step down one revision at a time to an empty schema, then back up to head."""
    app = _app(tmp_path, database_url)
    try:
        with app.app_context():
            config = migrate.get_config(str(MIGRATIONS_DIR))
            revisions = list(ScriptDirectory.from_config(config).walk_revisions())
            assert revisions[-1].revision == BASELINE
            for _ in revisions:
                command.downgrade(config, "-1")
            assert current_revision() is None
            assert "jobs" not in inspect(db.engine).get_table_names()
            for revision in reversed(revisions):
                command.upgrade(config, revision.revision)
                assert current_revision() == revision.revision
            assert _schema_differences() == []
    finally:
        close_app(app)


def test_a_database_from_before_migrations_is_adopted_with_its_jobs(tmp_path) -> None:
    """An earlier release made its tables with create_all; its queued job must survive."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = Flask("old_release")
    old.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(old)
    with old.app_context():
        from sora_app import models  # noqa: F401  (the tables)

        db.metadata.create_all(db.engine)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO jobs (id, status, engine, request_json, progress, substatus,"
                    " details, attempts, cancel_requested, created_at, updated_at) VALUES"
                    " ('old1', 'queued', 'local', '{}', 0, 'Queued', '', 0, 0,"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        db.engine.dispose()
    app = _app(tmp_path, url)
    try:
        with app.app_context():
            assert current_revision() == head_revision()
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT status FROM jobs WHERE id='old1'")).scalar() == (
                    "queued"
                )
    finally:
        close_app(app)


def test_init_db_reports_the_revision(tmp_path) -> None:
    app = _app(tmp_path, f"sqlite:///{tmp_path / 'cli.sqlite'}")
    try:
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert f"revision {head_revision_of(app)}" in result.output
    finally:
        close_app(app)


def head_revision_of(app: Flask) -> str:
    with app.app_context():
        return head_revision()


def test_hosts_starting_together_migrate_one_postgresql_database_once(tmp_path) -> None:
    """Separate instance folders (no shared file lock), one database: the advisory lock must
    make the second wait and then find the schema at head."""
    with postgres_schema() as url:
        barrier = threading.Barrier(3)
        errors: list[BaseException] = []

        def start(k: int) -> None:
            barrier.wait()
            try:
                close_app(_app(tmp_path / f"host{k}", url))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(k,), daemon=True) for k in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "hosts deadlocked while migrating"
        assert errors == []
        app = _app(tmp_path / "check", url)
        try:
            with app.app_context():
                assert current_revision() == head_revision()
        finally:
            close_app(app)
