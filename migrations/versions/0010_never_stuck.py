"""never stuck: when a clip's job was handed over, whether a retry can help, worker beats

Revision ID: 0010_never_stuck
Revises: 0009_asset_label
Create Date: 2026-12-02 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import videocoach.db

revision: str = "0010_never_stuck"
down_revision: str | None = "0009_asset_label"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", videocoach.db.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("dispatched_at", videocoach.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("delay_reported_at", videocoach.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("can_retry", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", videocoach.db.UTCDateTime(), nullable=False),
        sa.Column("beat_at", videocoach.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.drop_column("can_retry")
        batch_op.drop_column("delay_reported_at")
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("queued_at")
