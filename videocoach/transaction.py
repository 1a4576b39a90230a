"""Commit, then let the world know: what a change queued for after its commit goes out."""

from __future__ import annotations

from videocoach import db
from videocoach.meetings import live
from videocoach.notifications import services as notifications


def commit() -> None:
    """Commit the request's work, then queue its emails and publish its live events.
    Nothing is sent for a change that did not commit."""
    db.session.commit()
    notifications.dispatch_pending()
    live.publish_pending()
