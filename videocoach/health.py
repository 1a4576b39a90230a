"""/healthz (the process is up) and /readyz (its dependencies answer); no auth, no details."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from videocoach import db
from videocoach.config import current_settings

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


def _database_ready() -> bool:
    db.session.execute(text("SELECT 1"))
    return True


def _storage_ready() -> bool:
    settings = current_settings()
    if settings.storage_url.startswith("file://"):
        media_dir = settings.storage_url.removeprefix("file://")
        from pathlib import Path

        path = Path(media_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path.is_dir()
    return True


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    checks = {"database": _database_ready, "storage": _storage_ready}
    for name, check in checks.items():
        try:
            if not check():
                raise RuntimeError(f"{name} not ready")
        except Exception:
            log.exception("readiness check failed: %s", name)
            return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"})
