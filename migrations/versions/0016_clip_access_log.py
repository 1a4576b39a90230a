"""clip access log: who (other than the uploader) played, exported or opened a clip in a
meeting, the first time each day

Revision ID: 0016_clip_access_log
Revises: 0015_session_origin
Create Date: 2026-12-03 11:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import videocoach.db

revision: str = "0016_clip_access_log"
down_revision: str | None = "0015_session_origin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clip_access_log",
        sa.Column("clip_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", videocoach.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clips.id"], name=op.f("fk_clip_access_log_clip_id_clips"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_clip_access_log_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("clip_id", "user_id", "action", "day", name=op.f("pk_clip_access_log")),
    )


def downgrade() -> None:
    op.drop_table("clip_access_log")
