"""Job version counter: the event id and resume point of pushed events (issue 9).

Revision ID: 0002_job_version
Revises: 0001_baseline
"""

revision = "0002_job_version"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
