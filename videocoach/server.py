"""The embedded web server: gunicorn (one process, threads) plus, optionally, a worker.

gunicorn rather than waitress: waitress reads a whole request body into its own
buffer file before the app runs, so an outsider's upload would be stored before
the membership check, and it caps bodies at 1 GB; gunicorn streams the body to
the view. One process keeps SQLite and in-process live events simple.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)


class EmbeddedServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def start_worker_process() -> subprocess.Popen[bytes]:
    """`videocoach worker` as a child, with the same configuration."""
    child = subprocess.Popen(
        [sys.executable, "-m", "videocoach.cli", "worker"], env=os.environ.copy()
    )

    def stop() -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()

    atexit.register(stop)
    return child


def serve_app(app: Flask, *, host: str, port: int, threads: int, with_worker: bool) -> None:
    if with_worker:
        start_worker_process()
    EmbeddedServer(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 120,
            "graceful_timeout": 20,
            "errorlog": "-",
            "loglevel": "info",
        },
    ).run()
