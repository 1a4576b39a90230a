from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from videocoach.db import ID_LENGTH, Base, CreatedMixin, IdMixin, UTCDateTime


class User(IdMixin, CreatedMixin, UserMixin, Base):
    __tablename__ = "users"

    # Stored lower-cased so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # "immediate" | "daily" | "off" (videocoach.notifications.models.EmailPreference)
    email_notifications: Mapped[str] = mapped_column(
        String(16), default="immediate", server_default="immediate"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions for inactive users
        return self.disabled_at is None


class ApiToken(IdMixin, CreatedMixin, Base):
    """A bearer token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    user: Mapped[User] = relationship()
