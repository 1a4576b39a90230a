"""Comment tables, shaped for the review experience."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from videocoach.accounts.models import User
from videocoach.db import ID_LENGTH, Base, CreatedMixin, IdMixin, UTCDateTime
from videocoach.partnerships.models import Goal


class CommentKind(StrEnum):
    STRENGTH = "strength"
    QUESTION = "question"
    SUGGESTION = "suggestion"
    NOTE = "note"


comment_goals = Table(
    "comment_goals",
    Base.metadata,
    Column(
        "comment_id",
        String(ID_LENGTH),
        ForeignKey("comments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "goal_id",
        String(ID_LENGTH),
        ForeignKey("goals.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Comment(IdMixin, CreatedMixin, Base):
    __tablename__ = "comments"

    clip_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("clips.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("comments.id", ondelete="CASCADE"), default=None
    )
    t_start_ms: Mapped[int] = mapped_column(Integer)
    t_end_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    body: Mapped[str] = mapped_column(Text)
    # The sanitised HTML of `body`, made once when it is written, not on every read.
    body_html: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default=CommentKind.NOTE.value)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    # Resolving belongs to a thread (a top-level comment), and any member who sees it may.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_by_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # At a moment the clip's uploader has since cut from what the partnership sees: shown
    # to its author alone, so labelled (clips.redaction).
    outside_shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    goals: Mapped[list[Goal]] = relationship(secondary=comment_goals)
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
