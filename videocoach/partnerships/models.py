from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from videocoach.accounts.models import User
from videocoach.db import ID_LENGTH, Base, CreatedMixin, IdMixin, UTCDateTime, utcnow


class Role(StrEnum):
    COACH = "coach"
    TEACHER = "teacher"


class GoalStatus(StrEnum):
    ACTIVE = "active"
    MET = "met"
    ARCHIVED = "archived"


class Partnership(IdMixin, CreatedMixin, Base):
    """A coaching relationship: usually one coach and one teacher, sometimes a small group."""

    __tablename__ = "partnerships"

    name: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="partnership",
        cascade="all, delete-orphan",
        order_by="Membership.created_at",
    )


class Membership(IdMixin, CreatedMixin, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("partnership_id", "user_id"),)

    partnership_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("partnerships.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    # For "what changed since my last visit" on the partnership home.
    last_visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    partnership: Mapped[Partnership] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()


class Invitation(IdMixin, CreatedMixin, Base):
    """A single-use, expiring invitation. Its link's token is an HMAC of its id and
    `link_nonce` under SECRET_KEY (services.invitation_token), so the partnership page can
    show the link again; the database keeps only the token's digest, to find it by.
    Resending draws a new nonce: links sent before stop working."""

    __tablename__ = "invitations"

    partnership_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None for invitations made before links could be rebuilt (their link is not shown).
    link_nonce: Mapped[str | None] = mapped_column(String(32), default=None)
    # When it was last emailed again (None: only when it was made, at created_at).
    resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    invited_by_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    accepted_by_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )

    partnership: Mapped[Partnership] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > utcnow()

    @property
    def sent_at(self) -> datetime:
        """When its link was last emailed."""
        return self.resent_at or self.created_at


class Goal(IdMixin, CreatedMixin, Base):
    """Goals are the spine of coaching: comments and next steps hang on them."""

    __tablename__ = "goals"

    partnership_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    success_criteria: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=GoalStatus.ACTIVE.value)
    created_by_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class NextStep(IdMixin, CreatedMixin, Base):
    """An agreed action, optionally tied to a goal, with an owner and a due date.
    It shows on the partnership home and the goals page until someone marks it done."""

    __tablename__ = "next_steps"

    partnership_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    goal_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("goals.id", ondelete="SET NULL"), default=None
    )
    owner_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_by_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # The meeting it was agreed in, if any (it outlives the meeting's record).
    meeting_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("meetings.id", ondelete="SET NULL"), default=None, index=True
    )
    text: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    goal: Mapped[Goal | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
