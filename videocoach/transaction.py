"""Commit, then let the world know: what a change queued for after its commit goes out.

Services queue emails and live events on the database session (`session.info`) while
they work; they are sent only after the commit, and forgotten if the work rolls back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from videocoach import db, mail
from videocoach.meetings import live
from videocoach.notifications import services as notifications

PENDING_KEYS = (notifications.PENDING_KEY, mail.PENDING_EMAILS, live.PENDING_KEY)


def commit() -> None:
    """Commit the request's work, then queue its emails (notifications and invitations)
    and publish its live events. Nothing is sent for a change that did not commit."""
    db.session.commit()
    notifications.dispatch_pending()
    mail.dispatch_queued()
    live.publish_pending()


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, _previous: Any) -> None:
    """What a rolled-back transaction queued never happened: nobody hears of it.
    (A savepoint's rollback leaves the outer transaction, and what it queued, alive.)"""
    if not session.in_transaction():
        for key in PENDING_KEYS:
            session.info.pop(key, None)
