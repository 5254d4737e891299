"""API keys (issue 11): long-lived, hashed credentials for SDKs, scripts and sockets.

Revision ID: 0008_api_keys
Revises: 0007_upstream_deletes
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_api_keys"
down_revision = "0007_upstream_deletes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        if_not_exists=True,
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_api_keys_user_id", "api_keys", if_exists=True)
    op.drop_table("api_keys", if_exists=True)
