"""Job version counter: the event id and resume point of pushed events (issue 9).

`version` is a per-row counter the job store bumps in the same UPDATE as every real change
(status, progress, substatus, details, result; never a lease renewal), so it is atomic on
SQLite and PostgreSQL alike. Existing rows start at 1 (the server default backfills them).

Stream indexes: `ix_jobs_updated` serves each process's change watcher ("rows changed in the
last minute", every ~50 ms); `ix_jobs_owner_updated` serves a dashboard stream's first read
(the owner's active and recently changed jobs). Streams of one job read by primary key.

Revision ID: 0002_job_version
Revises: 0001_baseline
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_job_version"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


INDEXES = {"ix_jobs_updated": ["updated_at"], "ix_jobs_owner_updated": ["owner_id", "updated_at"]}


def upgrade() -> None:
    """Adds only what is missing: a database made by `create_all` from newer models (schema.py
    stamps such a database at the baseline) may already have the column and indexes."""
    inspector = sa.inspect(op.get_bind())
    columns = {column["name"] for column in inspector.get_columns("jobs")}
    indexes = {index["name"] for index in inspector.get_indexes("jobs")}
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        if "version" not in columns:
            batch_op.add_column(
                sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
            )
        for name, keys in INDEXES.items():
            if name not in indexes:
                batch_op.create_index(name, keys, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_owner_updated")
        batch_op.drop_index("ix_jobs_updated")
        batch_op.drop_column("version")
