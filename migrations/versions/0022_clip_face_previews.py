"""clip face previews: where the detector sees faces, for the uploader's redaction panel

Revision ID: 0022_clip_face_previews
Revises: 0021_clip_redaction
Create Date: 2026-12-07 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import videocoach.db

revision: str = "0022_clip_face_previews"
down_revision: str | None = "0021_clip_redaction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clip_face_previews",
        sa.Column("clip_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("face_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", videocoach.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["clips.id"],
            name=op.f("fk_clip_face_previews_clip_id_clips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clip_id", name=op.f("pk_clip_face_previews")),
    )


def downgrade() -> None:
    op.drop_table("clip_face_previews")
