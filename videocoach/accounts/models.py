from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from videocoach.db import ID_LENGTH, Base, CreatedMixin, IdMixin, UTCDateTime, utcnow


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

    # The sign-in (UserSession id) this request came with; set by videocoach.accounts.sessions.
    login_session_id = None  # not a column: an instance attribute, per request

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions for inactive users
        return self.disabled_at is None

    def session_cookie_id(self) -> str | None:
        """What Flask-Login writes into the session and remember cookies (its id_attribute):
        the sign-in, not the person, so a sign-in can be ended on the server."""
        return self.login_session_id


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


class UserSession(IdMixin, CreatedMixin, Base):
    """One sign-in on one device. Both of the browser's cookies carry only this row's id,
    so ending the row ends the session wherever its cookies were copied to."""

    __tablename__ = "user_sessions"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    # The address signed in on (urls.request_origin): emails no request caused link there.
    origin: Mapped[str] = mapped_column(String(300), default="", server_default="")
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    user: Mapped[User] = relationship()


class PasswordReset(IdMixin, CreatedMixin, Base):
    """A single-use link to choose a new password; only its SHA-256 is stored."""

    __tablename__ = "password_resets"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    user: Mapped[User] = relationship()
