"""Read indexes: the polled reads answer from an index, not a scan (issue 9, fast reads).

- `ix_jobs_owner_created` (owner_id, created_at, id): /api/progress without a job id asks for
  the caller's newest job (`ORDER BY created_at DESC, id DESC LIMIT 1`); the index gives it
  with one backwards step, tie-break included, however many jobs other users have.
- `ix_jobs_video_path`, `ix_jobs_thumbnail_path`: every Range request of /api/video/<name>
  looks up the job that owns the file by exact name; an OR over two unindexed columns
  scanned the table each time.

Revision ID: 0003_read_indexes
Revises: 0002_job_version
"""

from alembic import op

revision = "0003_read_indexes"
down_revision = "0002_job_version"
branch_labels = None
depends_on = None


INDEXES = {
    "ix_jobs_owner_created": ["owner_id", "created_at", "id"],
    "ix_jobs_video_path": ["video_path"],
    "ix_jobs_thumbnail_path": ["thumbnail_path"],
}


def upgrade() -> None:
    # IF NOT EXISTS: a database whose tables an earlier release made with create_all from
    # these models (then stamped at the baseline) already has them; so may one tuned by hand.
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False, if_not_exists=True)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
