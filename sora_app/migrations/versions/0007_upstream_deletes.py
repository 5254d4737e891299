"""Upstream DELETEs that failed (issue 11): kept and retried until the gateway answers.

Revision ID: 0007_upstream_deletes
Revises: 0006_batches
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_upstream_deletes"
down_revision = "0006_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_deletes",
        sa.Column("video_id", sa.String(128), primary_key=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("upstream", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        if_not_exists=True,
    )
    op.create_index(
        "ix_upstream_deletes_due", "upstream_deletes", ["state", "next_at"], if_not_exists=True
    )
    op.create_index(
        "ix_upstream_deletes_job_id", "upstream_deletes", ["job_id"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("ix_upstream_deletes_job_id", "upstream_deletes", if_exists=True)
    op.drop_index("ix_upstream_deletes_due", "upstream_deletes", if_exists=True)
    op.drop_table("upstream_deletes", if_exists=True)
