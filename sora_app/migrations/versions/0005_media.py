"""The media library (issue 10): a row per uploaded or imported picture and sound.

Revision ID: 0005_media
Revises: 0004_scripts
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_media"
down_revision = "0004_scripts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("mime", sa.String(64), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("original_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        if_not_exists=True,
    )
    op.create_index(
        "ix_media_owner_created", "media", ["owner_id", "created_at", "id"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("ix_media_owner_created", table_name="media")
    op.drop_table("media")
