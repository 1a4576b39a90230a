"""invitation links the server can rebuild: a per-invitation nonce for the HMAC, and when
it was last resent

Revision ID: 0018_invitation_links
Revises: 0017_comment_resolved_by
Create Date: 2026-12-04 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import videocoach.db

revision: str = "0018_invitation_links"
down_revision: str | None = "0017_comment_resolved_by"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Invitations made before keep a NULL nonce: their emailed links go on working (found by
    # token_hash as before), but the page cannot show them until they are resent.
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("link_nonce", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("resent_at", videocoach.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("resent_at")
        batch.drop_column("link_nonce")
