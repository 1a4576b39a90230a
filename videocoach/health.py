"""/healthz (the process is up) and /readyz (its dependencies answer); no auth, no details
beyond one sentence per missing dependency, for the operator."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import redis
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from videocoach import background, db
from videocoach.config import current_settings
from videocoach.storage import current_storage

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
TIMEOUT_S = 2


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


def _database_problem() -> str | None:
    db.session.execute(text("SELECT 1"))
    return None


def _storage_problem() -> str | None:
    current_storage().check()
    return None


def _broker_problem() -> str | None:
    settings = current_settings()
    if settings.embedded_broker:
        if os.access(settings.embedded_queue_dir, os.W_OK):
            return None
        return "The job queue folder in the data directory is not writable."
    with current_app.extensions["celery"].connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT_S)
    return None


def _redis_problem() -> str | None:
    url = current_settings().redis_url
    if url:
        client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        try:
            client.ping()
        finally:
            client.close()
    return None


def _worker_problem() -> str | None:
    if current_settings().tasks_eager:
        return None  # jobs run inside the request: there is no worker to wait for
    supervisor = current_app.extensions.get(background.SUPERVISOR_KEY)  # serve's own worker
    if supervisor is not None:
        return supervisor.problem()
    return background.worker_problem()


CHECKS: dict[str, tuple[Callable[[], str | None], str]] = {
    "database": (_database_problem, "The database does not answer."),
    "storage": (_storage_problem, "The media storage cannot be used."),
    "broker": (_broker_problem, "The job queue (CELERY_BROKER_URL) does not answer."),
    "redis": (_redis_problem, "Redis (REDIS_URL) does not answer."),
    "worker": (_worker_problem, "The background workers cannot be checked."),
}


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    problems: list[str] = []
    for name, (check, when_it_raises) in CHECKS.items():
        if name == "worker" and problems:
            break  # without the database, the workers' heartbeats cannot be read
        try:
            problem = check()
        except Exception:
            log.exception("readiness check failed: %s", name)
            db.session.rollback()
            problem = when_it_raises
        if problem:
            problems.append(problem)
    if problems:
        return jsonify({"status": "unavailable", "problems": problems}), 503
    return jsonify({"status": "ok"})
