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
import threading
import time
from types import FrameType

from cheroot.server import HTTPConnection, HTTPRequest
from cheroot.wsgi import Server
from flask import Flask

from videocoach import background
from videocoach.lifetimes import die_with_parent_on_term
from videocoach.observability import metrics

log = logging.getLogger(__name__)

# Seconds a connection may stay silent; a stalled upload then resumes from its offset.
SOCKET_TIMEOUT_S = 60
# serve's "running on" line waits this long at most for the worker's start-up lines.
ANNOUNCE_WAIT_S = 30.0


class WorkerSupervisor:
    """Runs `videocoach worker` as a child with the same configuration, and starts it again
    whenever it exits (with a growing pause, so a worker that cannot start does not spin).
    /readyz and clip pages learn of a dead or stalled worker from its heartbeat."""

    FIRST_PAUSE_S = 1.0
    LONGEST_PAUSE_S = 60.0
    # A worker that ran this long was healthy: the next restart is quick again.
    HEALTHY_AFTER_S = 60.0

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.last_exit: str | None = None
        self.stopping = threading.Event()
        self.restarts = 0
        self.thread = threading.Thread(target=self._supervise, name="worker-supervisor")
        self.thread.daemon = True

    def start(self) -> None:
        self.child = self._spawn()
        self.thread.start()
        atexit.register(self.stop)

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "videocoach.cli", "worker", "--quiet"],
            env=os.environ,
            preexec_fn=die_with_parent_on_term,  # serve killed: its worker stops too
        )

    def _supervise(self) -> None:
        pause = self.FIRST_PAUSE_S
        while not self.stopping.is_set():
            assert self.child is not None
            started = time.monotonic()
            code = self.child.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= self.HEALTHY_AFTER_S:
                pause = self.FIRST_PAUSE_S
            self.last_exit = _how_it_ended(code)
            log.error(
                "the background worker (pid %d) %s; starting it again in %.0f s",
                self.child.pid,
                self.last_exit,
                pause,
            )
            if self.stopping.wait(pause):
                return
            pause = min(self.LONGEST_PAUSE_S, pause * 2)
            self.child = self._spawn()
            self.restarts += 1
            log.info("background worker started again (pid %d)", self.child.pid)

    def problem(self) -> str | None:
        """For /readyz (needs an app context): a sentence while the worker is down or has
        not reported since it was (re)started."""
        child = self.child
        if child is None or child.poll() is not None:
            ended = f" ({self.last_exit})" if self.last_exit else ""
            return f"The background worker stopped{ended}; it is being started again."
        if not background.live_workers(background.worker_name(child.pid)):
            return "The background worker is starting; new uploads wait until it is ready."
        return None

    def stop(self) -> None:
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


def _how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class _Request(HTTPRequest):
    """cheroot keeps a connection open after a chunked request whose body the app did not
    read to its end (a broken chunk: 400), and would parse the rest of that body as the
    next request: whatever a client hid there would be answered. Close it instead."""

    def send_headers(self) -> None:
        if self.chunked_read and not getattr(self.rfile, "closed", True):
            self.close_connection = True
        super().send_headers()


class _Connection(HTTPConnection):
    RequestHandlerClass = _Request


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def announce_when_ready(
    app: Flask, supervisor: WorkerSupervisor | None, line: str, wait_s: float = ANNOUNCE_WAIT_S
) -> threading.Thread:
    """Print `line` (where videocoach is, how to stop it) once the worker has reported in,
    or after `wait_s`: so it comes after the worker's start-up lines, the last one printed."""

    def announce() -> None:
        deadline = time.monotonic() + wait_s
        while supervisor is not None and time.monotonic() < deadline:
            try:
                with app.app_context():
                    if supervisor.problem() is None:
                        break
            except Exception:  # the line matters more than why we could not ask
                log.debug("could not ask whether the worker is ready", exc_info=True)
            if supervisor.stopping.wait(0.25):
                return
        print(line, flush=True)

    thread = threading.Thread(target=announce, name="announce", daemon=True)
    thread.start()
    return thread


def serve_app(
    app: Flask,
    *,
    host: str,
    port: int,
    threads: int,
    with_worker: bool,
    announce: str | None = None,
) -> None:
    """Serve `app`; `announce`: a line to print once it listens (and its worker is up)."""
    metrics.forget_ended_processes(app.extensions["videocoach.settings"].metrics_dir)
    supervisor = None
    if with_worker:
        supervisor = WorkerSupervisor()
        app.extensions[background.SUPERVISOR_KEY] = supervisor
        supervisor.start()
    server = Server(
        (host, port),
        app,
        numthreads=threads,
        server_name="videocoach",
        timeout=SOCKET_TIMEOUT_S,
        shutdown_timeout=10,
    )
    server.ConnectionClass = _Connection
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.prepare()  # listening from here on
        if announce:
            announce_when_ready(app, supervisor, announce)
        server.serve()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        # Open meeting streams would otherwise keep the server up until every browser left.
        app.extensions["videocoach.live"].hub.shut_down()
        server.stop()
