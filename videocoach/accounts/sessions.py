"""Signed-in sessions a person can see and end, and the credential a request came with.

Every sign-in is a `UserSession` row. Flask's session cookie and Flask-Login's remember
cookie carry only that row's id (Flask-Login's "alternative token"), so the server can end
a sign-in: signing out, "sign out everywhere", a password change or a disabled account
ends the row, and every copy of its cookies stops working at once. Ended rows are never
revived, so re-enabling an account does not bring its old cookies back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from flask import g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from videocoach import db, limits, transaction, urls
from videocoach.accounts.models import ApiToken, User, UserSession
from videocoach.db import utcnow

# A sign-in without "keep me signed in" ends after this long unused; a remembered one
# after REMEMBERED_IDLE (the remember cookie lasts as long; see app.py), and any sign-in
# after MAX_AGE however often it is used, so a copied cookie cannot be kept alive forever.
SESSION_IDLE = timedelta(hours=12)
REMEMBERED_IDLE = timedelta(days=30)
MAX_AGE = timedelta(days=90)
# last_seen_at is rewritten at most this often, so page views stay free of writes.
SEEN_RESOLUTION = timedelta(minutes=5)


def sign_in(user: User, *, remember: bool = False) -> UserSession:
    """Start a new sign-in for `user` in this browser. The session is emptied first, so
    nothing planted in a cookie before signing in (session fixation) survives it."""
    session.clear()
    row = UserSession(
        user_id=user.id,
        remember=remember,
        user_agent=limits.one_line(request.headers.get("User-Agent", ""))[:255],
        ip_address=(request.remote_addr or "")[:45],
        origin=(urls.request_origin() or "")[:300],
    )
    db.session.add(row)
    db.session.flush()
    user.login_session_id = row.id
    login_user(user, remember=remember)
    g.user_session = row
    return row


def last_sign_in_origin(user_id: str) -> str | None:
    """The address the person last used videocoach on (their latest sign-in seen), if any."""
    return db.session.scalar(
        select(UserSession.origin)
        .where(UserSession.user_id == user_id, UserSession.origin != "")
        .order_by(UserSession.last_seen_at.desc())
        .limit(1)
    )


def sign_out() -> None:
    """End this browser's sign-in: its session cookie and its remember cookie."""
    row = current_session()
    if row is not None:
        row.ended_at = utcnow()
    logout_user()


def renew(user: User) -> UserSession | None:
    """End this browser's sign-in and start a fresh one in its place (after a password
    change): any copy of the old cookies, even of this device's, stops working."""
    row = current_session()
    if row is None:
        return None
    remember = row.remember
    row.ended_at = utcnow()
    return sign_in(user, remember=remember)


def user_for_session(session_id: str) -> User | None:
    """The person behind a session or remember cookie, while that sign-in is live."""
    row = db.session.get(UserSession, session_id)
    now = utcnow()
    if row is None or not is_live(row, now) or not row.user.is_active:
        return None
    user = row.user
    if now - row.last_seen_at > SEEN_RESOLUTION:
        _note_seen(row, now)
    user.login_session_id = row.id
    g.user_session = row
    return user


def _note_seen(row: UserSession, now: datetime) -> None:
    """Bookkeeping on a connection of its own: the request's own work is not committed
    by loading the person (it may still fail and roll back)."""
    with transaction.separate_transaction() as connection:
        connection.execute(
            update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
        )
    set_committed_value(row, "last_seen_at", now)


def is_live(row: UserSession, now: datetime) -> bool:
    idle = REMEMBERED_IDLE if row.remember else SESSION_IDLE
    return (
        row.ended_at is None and now - row.last_seen_at <= idle and now - row.created_at <= MAX_AGE
    )


def live_sessions(user: User) -> list[UserSession]:
    """This person's sign-ins that still work, most recently used first."""
    now = utcnow()
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return [row for row in rows if is_live(row, now)]


def find_session(user: User, session_id: str) -> UserSession | None:
    return db.session.scalars(
        select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    ).first()


def end_sessions(user: User, *, keep: str | None = None) -> int:
    """End every sign-in of `user` (except the one with id `keep`); how many ended."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep)
    result = db.session.execute(query.values(ended_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def current_session() -> UserSession | None:
    """This request's sign-in (None for a token or an anonymous request)."""
    if not current_user.is_authenticated:  # loads the sign-in from the cookies
        return None
    return g.get("user_session")


def device_name(user_agent: str) -> str:
    """ "Firefox on Windows" from a User-Agent header, for the list of sign-ins."""
    browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ]
    systems = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    browser = next((name for marker, name in browsers if marker in user_agent), "")
    system = next((name for marker, name in systems if marker in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (user_agent[:60] if user_agent else "Unknown device")


@dataclass(frozen=True)
class Credential:
    """What a request proved who it was with: a sign-in or an API token."""

    kind: Literal["session", "token"]
    id: str


def current_credential() -> Credential | None:
    token = g.get("api_token")
    if token is not None:
        return Credential("token", token.id)
    row = g.get("user_session")
    if row is not None:
        return Credential("session", row.id)
    return None


def credential_is_live(credential: Credential) -> bool:
    """Whether a credential seen earlier (say, when a live stream opened) still works:
    streams ask this at every check-in, so signing out or revoking a token ends them."""
    if credential.kind == "token":
        token = db.session.get(ApiToken, credential.id)
        return token is not None and token.revoked_at is None and token.user.is_active
    row = db.session.get(UserSession, credential.id)
    return row is not None and is_live(row, utcnow()) and row.user.is_active
