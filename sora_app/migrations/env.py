"""Alembic environment: runs migrations on the app's own engine (see sora_app/schema.py).

The app's logging is left alone (the stock template re-configured logging from alembic.ini
and silenced every logger that existed before it).
"""

from __future__ import annotations

from alembic import context
from flask import current_app

migrate_ext = current_app.extensions["migrate"]
metadata = migrate_ext.db.metadata


def run_offline() -> None:
    """Emit SQL for the configured URL without connecting (`flask db upgrade --sql`)."""
    url = migrate_ext.db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=metadata, literal_binds=True,
                      **migrate_ext.configure_args)  # fmt: skip
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate through a connection of the app's engine, in one transaction."""
    with migrate_ext.db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          **migrate_ext.configure_args)  # fmt: skip
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
