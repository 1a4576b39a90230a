"""Queueing background jobs by name, so the domain never imports the workers.

Task names are defined next to the code that queues them (clips.dispatch.PROCESS_CLIP,
mail.SEND_EMAIL, ...); workers/tasks.py registers a task under each name.

A job queued after a commit must never fail the request: the change is already saved, and
a client told "error" would send it again (a second comment, a second clip). So
`after_commit` hand-overs log a broker that is down instead of raising; clips are handed
over again by clips.dispatch.reconcile, emails about a change are lost (the notification
itself is stored and shows in the app).
"""

from __future__ import annotations

import logging

from flask import current_app
from kombu.exceptions import OperationalError

from videocoach import transaction

log = logging.getLogger(__name__)
# What the broker client raises when the broker is away: kombu wraps redis-py's and the
# socket's errors, but a first connection may surface the bare OSError.
BROKER_ERRORS: tuple[type[Exception], ...] = (OperationalError, OSError)


def enqueue(
    task_name: str, *args: object, queue: str | None = None, countdown: float | None = None
) -> None:
    """Hand a job to the broker now (or run it at once when tasks are eager, as in tests),
    on `queue` (None: the default queue), to start no sooner than `countdown` seconds.
    Raises one of BROKER_ERRORS when the broker is away. A job about a change the request
    makes waits for the commit: enqueue_after_commit."""
    current_app.extensions["celery"].tasks[task_name].apply_async(
        args=list(args), queue=queue, countdown=countdown
    )


def enqueue_or_log(task_name: str, *args: object, queue: str | None = None) -> bool:
    """enqueue() for code that runs after a commit: False (and a log line) when the broker
    is away."""
    try:
        enqueue(task_name, *args, queue=queue)
    except BROKER_ERRORS as error:
        log.error("could not queue %s: the broker is unreachable (%s)", task_name, error)
        return False
    return True


def enqueue_after_commit(task_name: str, *args: object) -> None:
    """Queue the job once the current transaction commits (never for a rolled-back one)."""
    transaction.after_commit(_enqueue_each, (task_name, args))


def _enqueue_each(queued: list[tuple[str, tuple[object, ...]]]) -> None:
    for task_name, args in queued:
        enqueue_or_log(task_name, *args)
