"""clip redaction: what the uploader hides from the partnership (faces, areas, the ends,
moments of sound), and comments at moments since cut from the shared part

Revision ID: 0021_clip_redaction
Revises: 0020_data_exports
Create Date: 2026-12-04 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import videocoach.db

revision: str = "0021_clip_redaction"
down_revision: str | None = "0020_data_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clip_redactions",
        sa.Column("clip_id", sa.String(length=32), nullable=False),
        sa.Column("blur_faces", sa.Boolean(), nullable=False),
        sa.Column("trim_start_ms", sa.Integer(), nullable=True),
        sa.Column("trim_end_ms", sa.Integer(), nullable=True),
        sa.Column("mute", sa.JSON(), nullable=False),
        sa.Column("blur_regions", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shown_start_ms", sa.Integer(), nullable=False),
        sa.Column("unredacted_facts", sa.JSON(), nullable=True),
        sa.Column("updated_at", videocoach.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clips.id"], name=op.f("fk_clip_redactions_clip_id_clips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("clip_id", name=op.f("pk_clip_redactions")),
    )
    with op.batch_alter_table("comments") as batch:
        batch.add_column(
            sa.Column("outside_shared", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("outside_shared")
    op.drop_table("clip_redactions")
