"""asset label: a caption track's own title survives to the player

Revision ID: 0009_asset_label
Revises: 0008_meetings
Create Date: 2026-12-02 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_asset_label"
down_revision: str | None = "0008_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clip_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clip_assets", schema=None) as batch_op:
        batch_op.drop_column("label")
