"""Scripts as resources (issue 10): a script row per creator script, a row per version.

Revision ID: 0004_scripts
Revises: 0003_read_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_scripts"
down_revision = "0003_read_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scripts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "ix_scripts_owner_updated", "scripts", ["owner_id", "updated_at", "id"],
        if_not_exists=True,
    )  # fmt: skip
    op.create_table(
        "script_versions",
        sa.Column(
            "script_id",
            sa.String(64),
            sa.ForeignKey("scripts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("body_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("script_versions")
    op.drop_index("ix_scripts_owner_updated", table_name="scripts")
    op.drop_table("scripts")
