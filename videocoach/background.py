"""Background workers as the rest of the service sees them: who is alive, by heartbeat.

Each `videocoach worker` writes a row here every few seconds from its main process. The
web side reads the rows to answer /readyz and to tell a person on a clip page why
processing has not started, on one machine or many (the rows live in the database).
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from videocoach import db, transaction
from videocoach.db import Base, UTCDateTime, utcnow

log = logging.getLogger(__name__)

BEAT_EVERY_S = 10.0
# Three missed beats: the worker is gone or stalled (a stopped or wedged main process).
WORKER_STALE_AFTER = timedelta(seconds=3 * BEAT_EVERY_S + 5)
# Where /readyz finds the worker `videocoach serve` supervises (embedded default only).
SUPERVISOR_KEY = "videocoach.worker_supervisor"
NO_WORKER = (
    "No background worker has reported in the last {seconds} seconds: new uploads wait "
    "until one is running again."
)


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())


def worker_name(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"[:200]


def record_beat(name: str, pid: int, started_at: datetime) -> None:
    """This worker is alive (insert its row the first time, refresh it after)."""
    now = utcnow()
    with transaction.separate_transaction() as connection:
        refreshed = connection.execute(
            update(WorkerHeartbeat).where(WorkerHeartbeat.name == name).values(beat_at=now)
        )
        if refreshed.rowcount == 0:
            connection.execute(
                WorkerHeartbeat.__table__.insert().values(
                    name=name, pid=pid, started_at=started_at, beat_at=now
                )
            )
        # Rows of workers long gone (another machine, an old pid) are only noise.
        connection.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - timedelta(days=1))
        )


def forget(name: str) -> None:
    """A worker that stops cleanly takes its row with it."""
    with transaction.separate_transaction() as connection:
        connection.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))


def live_workers(name: str | None = None) -> int:
    """How many workers beat lately (only the one called `name`, when given)."""
    since = utcnow() - WORKER_STALE_AFTER
    query = (
        select(func.count()).select_from(WorkerHeartbeat).where(WorkerHeartbeat.beat_at >= since)
    )
    if name is not None:
        query = query.where(WorkerHeartbeat.name == name)
    return db.session.scalar(query)


def worker_problem() -> str | None:
    """A sentence for a person when no worker is alive; None when one is."""
    if live_workers():
        return None
    return NO_WORKER.format(seconds=int(WORKER_STALE_AFTER.total_seconds()))
