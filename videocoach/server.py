"""The embedded web server: cheroot (one process, a pool of threads) plus, optionally, a worker.

Measured choice (bench/upload_bench.py, 2 GiB uploads on this machine): waitress reads a
whole request body into its own buffer file before the app runs, so an outsider's upload
would be stored before the membership check, and it caps bodies at 1 GB; gunicorn's
request body reader hands the app 1 KiB at a time and tops out near 170 MiB/s; cheroot
streams the body to the view at about 360 MiB/s, in bounded memory, on any OS. One
process keeps SQLite and in-process live events simple.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
from types import FrameType

from cheroot.wsgi import Server
from flask import Flask

log = logging.getLogger(__name__)
# Seconds a connection may stay silent; a stalled upload then resumes from its offset.
SOCKET_TIMEOUT_S = 60


def start_worker_process() -> subprocess.Popen[bytes]:
    """`videocoach worker` as a child, with the same configuration."""
    child = subprocess.Popen([sys.executable, "-m", "videocoach.cli", "worker"], env=os.environ)

    def stop() -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()

    atexit.register(stop)
    return child


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve_app(app: Flask, *, host: str, port: int, threads: int, with_worker: bool) -> None:
    if with_worker:
        start_worker_process()
    server = Server(
        (host, port),
        app,
        numthreads=threads,
        server_name="videocoach",
        timeout=SOCKET_TIMEOUT_S,
        shutdown_timeout=10,
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.start()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        # Open meeting streams would otherwise keep the server up until every browser left.
        app.extensions["videocoach.live"].hub.shut_down()
        server.stop()
