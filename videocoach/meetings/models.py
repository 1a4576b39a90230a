"""A meeting: members of a partnership review one clip together, in sync."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from videocoach.accounts.models import User
from videocoach.clips.models import Clip
from videocoach.db import ID_LENGTH, Base, CreatedMixin, IdMixin, UTCDateTime, utcnow


class Meeting(IdMixin, CreatedMixin, Base):
    """created_at is when it started. The shared playback state lives here, so someone
    who joins late (or reconnects) lands on the moment everyone else is watching."""

    __tablename__ = "meetings"

    partnership_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    clip_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("clips.id", ondelete="CASCADE"), index=True
    )
    started_by_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    # The one person whose play, pause, seek and speed everyone follows.
    driver_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )
    position_ms: Mapped[int] = mapped_column(Integer, default=0)
    playing: Mapped[bool] = mapped_column(Boolean, default=False)
    rate: Mapped[float] = mapped_column(Float, default=1.0)
    # When position_ms was true: while playing, the moment now is position + elapsed x rate.
    playback_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notes: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every save, so two people typing at once cannot overwrite each other unseen.
    notes_version: Mapped[int] = mapped_column(Integer, default=0)
    notes_updated_by_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    notes_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    clip: Mapped[Clip] = relationship()
    driver: Mapped[User | None] = relationship(foreign_keys=[driver_id])
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])


class MeetingConnection(IdMixin, Base):
    """One open live stream of one person (a browser tab). Presence is the people with an
    open, recently seen connection, so it is right across web processes, and a process
    that dies takes its people out of the list within PRESENCE_TTL_S. Closed rows stay:
    they record who took part."""

    __tablename__ = "meeting_connections"
    __table_args__ = (Index("ix_meeting_connections_meeting_open", "meeting_id", "closed_at"),)

    meeting_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("meetings.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
