"""The Celery app: one per Flask app, configured from the same Settings.

Embedded default: a sturdier kombu filesystem transport (workers.embedded_transport)
keeps queued jobs as files in the data directory, so no server is needed and queued
jobs survive a restart.
Production: CELERY_BROKER_URL (Redis) lets any number of workers share the work.
Either way the database is the source of truth: a worker start re-queues clips
a crash left behind (see workers.tasks.recover_after_restart).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from typing import Any

from celery import Celery, Task
from celery.exceptions import SecurityWarning
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)
from flask import Flask

import workers.tasks  # registers the tasks (shared_task) on every Celery app made here
from videocoach import background, db, jobs
from videocoach.clips import dispatch, retention
from videocoach.config import Settings
from videocoach.db import utcnow
from videocoach.lifetimes import die_with_parent
from videocoach.observability import logs, metrics
from workers import embedded_transport, turns

log = logging.getLogger(__name__)

# A whole clip's processing may not run longer than this (each ffmpeg run has its own limit).
TASK_TIME_LIMIT_S = 6 * 3600


def broker_settings(settings: Settings) -> dict[str, Any]:
    if not settings.embedded_broker:
        return {
            "broker_url": settings.celery_broker_url,
            # Longer than the slowest job, or Redis would hand an unacked job to a second worker.
            "broker_transport_options": {"visibility_timeout": TASK_TIME_LIMIT_S + 600},
        }
    folder = settings.embedded_queue_dir
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": f"{embedded_transport.SCHEME}://",
        "broker_transport_options": {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            # Without this kombu writes its exchange files to ./control wherever it runs.
            "control_folder": str(settings.data_dir / "queue-control"),
            "store_processed": False,
            "polling_interval": 0.2,  # dispatch latency on the embedded default
        },
    }


def init_celery(app: Flask, settings: Settings) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        **broker_settings(settings),
        task_default_queue=settings.celery_queue,
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,  # a job killed mid-way is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # long jobs: never hoard work another worker could do
        task_time_limit=TASK_TIME_LIMIT_S,
        task_soft_time_limit=TASK_TIME_LIMIT_S - 60,
        task_always_eager=settings.tasks_eager,
        task_eager_propagates=False,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        imports=("workers.tasks",),
    )
    app.extensions["celery"] = celery
    return celery


# A job's log lines carry the id of the request that queued it (or, for a job no request
# queued, its own task id); a job it queues carries the same id on.
REQUEST_ID_HEADER = "request_id"
_bound_request_ids: dict[str, object] = {}


@before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **_kwargs: object) -> None:
    request_id = logs.current_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@task_prerun.connect
def _bind_request_id(task_id: str, task: Task, **_kwargs: object) -> None:
    request_id = task.request.get(REQUEST_ID_HEADER) or logs.current_request_id() or task_id
    _bound_request_ids[task_id] = logs.bind_request_id(request_id)


@task_postrun.connect
def _unbind_request_id(task_id: str, **_kwargs: object) -> None:
    token = _bound_request_ids.pop(task_id, None)
    if token is not None:
        logs.unbind_request_id(token)


# Retention runs once a day from each worker (a run changes nothing a run the same day
# did), the first a few minutes after the worker starts.
RETENTION_FIRST_AFTER_S = 5 * 60.0
RETENTION_EVERY_S = 24 * 3600.0


def queue_retention(settings: Settings) -> bool:
    """Queue the daily retention job when a retention setting is on (both unset: no job)."""
    if not retention.enabled(settings):
        return False
    return jobs.enqueue_or_log(retention.APPLY_RETENTION)


class Housekeeping:
    """The worker main process's own thread: a heartbeat row every few seconds (so /readyz
    and clip pages know a worker is alive) and, every reconcile period, the reconcile pass
    that hands over clips nobody is working on and removes unused scratch space."""

    def __init__(self, app: Flask):
        self.app = app
        self.name = background.worker_name(os.getpid())
        self.started_at = utcnow()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)

    def _run(self) -> None:
        settings = self.app.extensions["videocoach.settings"]
        next_reconcile = time.monotonic() + settings.reconcile_every_s
        next_retention = time.monotonic() + RETENTION_FIRST_AFTER_S
        while True:
            with self.app.app_context():
                try:
                    background.record_beat(self.name, os.getpid(), self.started_at)
                    if time.monotonic() >= next_reconcile:
                        next_reconcile = time.monotonic() + settings.reconcile_every_s
                        workers.tasks.reconcile()
                    if time.monotonic() >= next_retention:
                        next_retention = time.monotonic() + RETENTION_EVERY_S
                        queue_retention(settings)
                except Exception:  # the database may be away for a moment; never stop beating
                    log.exception("worker housekeeping failed; will try again")
                finally:
                    db.session.remove()
            if self.stop.wait(background.BEAT_EVERY_S):
                return

    def start(self) -> None:
        self.thread.start()

    def shut_down(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        with self.app.app_context(), contextlib.suppress(Exception):
            background.forget(self.name)


def quiet_celery() -> None:
    """For the worker `videocoach serve` starts: Celery's and kombu's own lines only from
    warnings up (videocoach's INFO lines and every error stay), and one line of ours in
    place of Celery's paragraph about running as root."""
    logging.getLogger("celery").setLevel(logging.WARNING)
    logging.getLogger("kombu").setLevel(logging.WARNING)
    # "No hostname was supplied": the embedded transport's URL has none, by design.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=SecurityWarning)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        log.warning("the background worker runs as root: run videocoach as an ordinary user")


def run_worker(
    app: Flask,
    *,
    concurrency: int,
    takes_long_clips: bool = True,
    loglevel: str = "INFO",
    quiet: bool = False,
) -> None:
    """Run a worker for this app's broker: re-queue what a crash left, then take jobs.

    It reads the default queue and, unless it is for short clips only, the long queue
    (workers/turns.py says which clips wait for which slots). `quiet`: no banner, and
    Celery's own lines only from warnings up (quiet_celery)."""
    celery: Celery = app.extensions["celery"]
    settings: Settings = app.extensions["videocoach.settings"]
    housekeeping = Housekeeping(app)
    # The pool's children are forked from this process: they inherit what it is.
    app.extensions[turns.WORKER_SLOTS] = turns.WorkerSlots(
        os.getpid(), concurrency, takes_long_clips
    )
    queues = [settings.celery_queue]
    if takes_long_clips:
        queues.append(dispatch.long_queue(settings))

    @worker_ready.connect(weak=False)
    def _recover(**_kwargs: object) -> None:
        with app.app_context():
            workers.tasks.recover_after_restart()
        housekeeping.start()

    @worker_shutdown.connect(weak=False)
    def _goodbye(**_kwargs: object) -> None:
        housekeeping.shut_down()

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_kwargs: object) -> None:
        # A forked child must not share the parent's database connections, nor outlive the
        # worker that hands it jobs (a killed worker's jobs are claimed again elsewhere).
        app.extensions["videocoach.engine"].dispose(close=False)
        die_with_parent()

    metrics.forget_ended_processes(settings.metrics_dir)
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--concurrency={concurrency}",
        f"--queues={','.join(queues)}",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname=videocoach-{os.getpid()}@%h",
    ]
    if quiet:
        quiet_celery()
        argv.insert(0, "--quiet")  # celery's own option, before the sub-command: no banner
    celery.worker_main(argv)
