"""Queueing background jobs by name, so the domain never imports the workers.

Task names are defined next to the code that queues them (clips.services.PROCESS_CLIP,
mail.SEND_EMAIL, ...); workers/tasks.py registers a task under each name.
"""

from __future__ import annotations

from flask import current_app


def enqueue(task_name: str, *args: object) -> None:
    """Hand a job to the broker (or run it at once when tasks are eager, as in tests).
    Call it after the commit, so the worker sees what the job is about."""
    current_app.extensions["celery"].tasks[task_name].apply_async(args=list(args))
