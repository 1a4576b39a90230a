"""comment resolved by: who resolved a thread (any member may now, not only its author);
a reply is resolved with its thread, never on its own

Revision ID: 0017_comment_resolved_by
Revises: 0016_clip_access_log
Create Date: 2026-12-04 20:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_comment_resolved_by"
down_revision: str | None = "0016_clip_access_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

comments = sa.table(
    "comments",
    sa.column("author_id", sa.String),
    sa.column("parent_id", sa.String),
    sa.column("resolved_at", sa.DateTime),
    sa.column("resolved_by_id", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_by_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_resolved_by_id_users"),
            "users",
            ["resolved_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    backfill()


def backfill() -> None:
    # Until now only a comment's author could resolve it: they resolved every resolved one.
    op.execute(
        comments.update()
        .where(comments.c.resolved_at.is_not(None), comments.c.parent_id.is_(None))
        .values(resolved_by_id=comments.c.author_id)
    )
    # Replies are no longer resolved on their own: their thread is, for all of them.
    op.execute(
        comments.update()
        .where(comments.c.parent_id.is_not(None), comments.c.resolved_at.is_not(None))
        .values(resolved_at=None)
    )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_comments_resolved_by_id_users"), type_="foreignkey")
        batch_op.drop_column("resolved_by_id")
