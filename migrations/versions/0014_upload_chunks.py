"""upload chunks: tus bytes staged in the object store, so any web host takes the next PATCH

Revision ID: 0014_upload_chunks
Revises: 0013_upload_usage
Create Date: 2026-12-03 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_upload_chunks"
down_revision: str | None = "0013_upload_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("writer_token", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("writer_until", sa.DateTime(), nullable=True))
    op.create_table(
        "upload_chunks",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["uploads.id"],
            name=op.f("fk_upload_chunks_upload_id_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", "start", name=op.f("pk_upload_chunks")),
        sa.UniqueConstraint("key", name=op.f("uq_upload_chunks_key")),
    )


def downgrade() -> None:
    op.drop_table("upload_chunks")
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("writer_until")
        batch.drop_column("writer_token")
