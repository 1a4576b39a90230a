"""session origin: the address (scheme, host, path prefix) each sign-in was made on, so
emails no request caused (a clip processed, the daily digest) link where the person goes

Revision ID: 0015_session_origin
Revises: 0014_upload_chunks
Create Date: 2026-12-03 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_session_origin"
down_revision: str | None = "0014_upload_chunks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=300), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("origin")
