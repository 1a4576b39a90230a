"""/healthz (the process is up) and /readyz (its dependencies answer); no auth, no details."""

from __future__ import annotations

import logging
import os

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from videocoach import db
from videocoach.config import current_settings
from videocoach.storage import current_storage

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


def _database_ready() -> bool:
    db.session.execute(text("SELECT 1"))
    return True


def _storage_ready() -> bool:
    current_storage().check()
    return True


def _broker_ready() -> bool:
    settings = current_settings()
    if settings.embedded_broker:
        return os.access(settings.embedded_queue_dir, os.W_OK)
    with current_app.extensions["celery"].connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
    return True


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    checks = {"database": _database_ready, "storage": _storage_ready, "broker": _broker_ready}
    for name, check in checks.items():
        try:
            if not check():
                raise RuntimeError(f"{name} not ready")
        except Exception:
            log.exception("readiness check failed: %s", name)
            return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"})
