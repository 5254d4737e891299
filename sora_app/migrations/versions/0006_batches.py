"""Batches (issue 10): many videos in one request, fed to the queue a few at a time.

Revision ID: 0006_batches
Revises: 0005_media
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_batches"
down_revision = "0005_media"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        if_not_exists=True,
    )
    op.create_index(
        "ix_batches_owner_created", "batches", ["owner_id", "created_at", "id"],
        if_not_exists=True,
    )  # fmt: skip
    op.create_table(
        "batch_items",
        sa.Column(
            "batch_id",
            sa.String(64),
            sa.ForeignKey("batches.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        if_not_exists=True,
    )
    op.create_index("ix_batch_items_job", "batch_items", ["job_id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_batch_items_job", table_name="batch_items")
    op.drop_table("batch_items")
    op.drop_index("ix_batches_owner_created", table_name="batches")
    op.drop_table("batches")
