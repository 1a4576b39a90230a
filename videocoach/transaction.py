"""The one commit path: commit, then send what the change queued; a rollback forgets it.

Services queue what the world should hear of a change (emails, notifications, live
events) with `after_commit(sender, item)` while they work; `commit()` commits the
session and then calls each sender once with every item queued for it. A rollback of
the outer transaction forgets everything queued, so nobody is ever told of a change that
did not happen. Every request, task and command commits through `commit()`, and the few
writes that must not wait for the session (a job's progress and heartbeat) go through
`separate_transaction()`; a test fails on any other `.commit()` in the code.

This module imports no feature: features import it and bring their own senders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from videocoach import db

log = logging.getLogger(__name__)

# session.info key: {sender: [items, in the order queued]} (dicts keep senders in order).
AFTER_COMMIT_KEY = "videocoach.after_commit"

Sender = Callable[[list[Any]], None]


def after_commit(sender: Sender, item: Any) -> None:
    """Queue `item` for `sender`, which is called once, after the next commit, with every
    item queued for it in this transaction (so a sender can batch, e.g. one email job)."""
    pending: dict[Sender, list[Any]] = db.session.info.setdefault(AFTER_COMMIT_KEY, {})
    pending.setdefault(sender, []).append(item)


def commit() -> None:
    """Commit the session's work, then hand what it queued to each sender."""
    db.session.commit()
    send_queued()


def send_queued() -> None:
    pending: dict[Sender, list[Any]] = db.session.info.pop(AFTER_COMMIT_KEY, {})
    for sender, items in pending.items():
        sender(items)


@contextmanager
def separate_transaction(app: Flask | None = None) -> Iterator[Connection]:
    """A short transaction on a connection of its own, committed at the end of the block,
    for bookkeeping that must not wait for (or be rolled back with) the session's work:
    a job's progress and heartbeat. Nothing can be queued here."""
    engine = (app or current_app).extensions["videocoach.engine"]
    with engine.begin() as connection:
        yield connection


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, _previous: Any) -> None:
    """What a rolled-back transaction queued never happened: nobody hears of it.
    (A savepoint's rollback leaves the outer transaction, and what it queued, alive.)"""
    if not session.in_transaction():
        session.info.pop(AFTER_COMMIT_KEY, None)
