"""replies to a private note are private (issue #11): hide the ones written before

Revision ID: 0012_private_replies
Revises: 0011_sessions
Create Date: 2026-12-02 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_private_replies"
down_revision: str | None = "0011_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

comments = sa.table(
    "comments",
    sa.column("id", sa.String),
    sa.column("parent_id", sa.String),
    sa.column("private", sa.Boolean),
)


def upgrade() -> None:
    # Only a private note's author could see it to reply, so every such reply is theirs:
    # making it private hides it from the partners and from nobody who should see it.
    parent = comments.alias("parent")
    op.execute(
        comments.update()
        .where(
            comments.c.private == sa.false(),
            comments.c.parent_id.in_(sa.select(parent.c.id).where(parent.c.private == sa.true())),
        )
        .values(private=True)
    )


def downgrade() -> None:
    # Which replies were public before cannot be told apart any more; hidden they stay.
    pass
