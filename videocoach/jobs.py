"""Queueing background jobs by name, so the domain never imports the workers.

Task names are defined next to the code that queues them (clips.services.PROCESS_CLIP,
mail.SEND_EMAIL, ...); workers/tasks.py registers a task under each name.
"""

from __future__ import annotations

from flask import current_app

from videocoach import transaction


def enqueue(task_name: str, *args: object) -> None:
    """Hand a job to the broker now (or run it at once when tasks are eager, as in tests).
    A job about a change the request makes waits for the commit: enqueue_after_commit."""
    current_app.extensions["celery"].tasks[task_name].apply_async(args=list(args))


def enqueue_after_commit(task_name: str, *args: object) -> None:
    """Queue the job once the current transaction commits (never for a rolled-back one)."""
    transaction.after_commit(_enqueue_each, (task_name, args))


def _enqueue_each(queued: list[tuple[str, tuple[object, ...]]]) -> None:
    for task_name, args in queued:
        enqueue(task_name, *args)
