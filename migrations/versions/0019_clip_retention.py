"""clip retention: "Keep for another year" and when the uploader was warned of deletion

Revision ID: 0019_clip_retention
Revises: 0018_invitation_links
Create Date: 2026-12-04 20:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import videocoach.db

revision: str = "0019_clip_retention"
down_revision: str | None = "0018_invitation_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clips") as batch_op:
        batch_op.add_column(sa.Column("kept_until", videocoach.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("deletion_warned_at", videocoach.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clips") as batch_op:
        batch_op.drop_column("deletion_warned_at")
        batch_op.drop_column("kept_until")
