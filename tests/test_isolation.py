"""The per-test cleanup itself: it must not fail because a request is still finishing."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from tests.conftest import empty_all_tables
from videocoach.accounts.models import User
from videocoach.notifications.models import Notification


def test_emptying_the_tables_outlasts_a_request_still_in_flight(app) -> None:
    """A browser's last request (an image after a redirect) reads users, then
    notifications, while the cleanup's TRUNCATE locks them in the other order:
    PostgreSQL breaks the deadlock by failing the TRUNCATE, which must try again."""
    engine = app.extensions["videocoach.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("the lock order deadlock is PostgreSQL's")
    reading = threading.Event()

    def straggler() -> None:
        with engine.connect() as connection, connection.begin():
            connection.execute(sa.select(sa.func.count()).select_from(User.__table__))
            reading.set()
            time.sleep(0.3)  # the TRUNCATE now holds notifications and waits for users
            connection.execute(sa.select(sa.func.count()).select_from(Notification.__table__))

    thread = threading.Thread(target=straggler)
    thread.start()
    assert reading.wait(10)
    try:
        empty_all_tables(app)
    finally:
        thread.join(30)
