"""A notification: something happened that one person should hear about."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from videocoach.db import ID_LENGTH, Base, CreatedMixin, IdMixin, UTCDateTime


class Event(StrEnum):
    COMMENT_ON_MY_CLIP = "comment_on_my_clip"
    REPLY_TO_MY_COMMENT = "reply_to_my_comment"
    INVITATION = "invitation"
    CLIP_READY = "clip_ready"
    CLIP_FAILED = "clip_failed"
    CLIP_SHARED = "clip_shared"
    MEETING_STARTED = "meeting_started"
    CLIP_EXPIRING = "clip_expiring"  # retention deletes it in 14 days unless it is kept


class EmailPreference(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    OFF = "off"


def _fk(table: str, ondelete: str = "CASCADE") -> ForeignKey:
    return ForeignKey(f"{table}.id", ondelete=ondelete)


class Notification(IdMixin, CreatedMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient_created", "recipient_id", "created_at"),)

    recipient_id: Mapped[str] = mapped_column(String(ID_LENGTH), _fk("users"))
    event: Mapped[str] = mapped_column(String(32))
    partnership_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), _fk("partnerships"), default=None, index=True
    )
    clip_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), _fk("clips"), default=None, index=True
    )
    comment_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), _fk("comments"), default=None, index=True
    )
    meeting_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), _fk("meetings"), default=None, index=True
    )
    actor_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), _fk("users", "SET NULL"), default=None, index=True
    )
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
