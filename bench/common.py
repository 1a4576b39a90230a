"""Shared bench helpers: a throwaway videocoach instance, users, timing."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.processes import running

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password 1234"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction 0.95 for p95)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextmanager
def instance(dir: str | None = None, **env: str) -> Iterator[dict[str, str]]:
    """A fresh data directory (SQLite, local files) and the environment to reach it."""
    with tempfile.TemporaryDirectory(prefix="vc-bench-", dir=dir) as data:
        yield {
            **os.environ,
            "VIDEOCOACH_DATA_DIR": data,
            "SECRET_KEY": "bench-" + "k" * 40,
            "VIDEOCOACH_LOGIN_RATE_LIMIT": "1000 per minute",
            **env,
        }


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with (
        log.open("w") as out,
        running(args, env=env, stdout=out, stderr=subprocess.STDOUT) as child,
    ):
        yield child


def videocoach(*args: str) -> list[str]:
    return [sys.executable, "-m", "videocoach.cli", *args]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass(frozen=True)
class Server:
    """A running `videocoach serve` child and the port it answers on."""

    port: int
    child: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def web_server(env: dict[str, str], log_name: str = "serve") -> Iterator[Server]:
    """`videocoach serve --no-worker` (one process) on a free port, logging to
    <data dir>/<log_name>.log; yields once /healthz answers, so timings exclude start-up."""
    port = free_port()
    log = Path(env["VIDEOCOACH_DATA_DIR"]) / f"{log_name}.log"
    with process(videocoach("serve", "--no-worker", "--port", str(port)), env, log) as child:
        server = Server(port, child)
        wait_http(f"{server.base}/healthz")
        yield server


def migrated_app(env: dict[str, str]):  # type: ignore[no-untyped-def]
    """The app of an `instance()`, migrated. videocoach is imported only now, so it reads
    the instance's environment."""
    os.environ.update(env)
    from videocoach import create_app
    from videocoach.migrate import upgrade

    app = create_app()
    upgrade(app)
    return app


def add_ready_clip(partnership_id: str, uploaded_by_id: str, hours: float = 1.0):  # type: ignore[no-untyped-def]
    """A shared, ready clip row (no media) in the current app context, flushed."""
    from videocoach import db
    from videocoach.clips.models import Clip

    clip = Clip(
        partnership_id=partnership_id,
        uploaded_by_id=uploaded_by_id,
        title="Lesson",
        visibility="shared",
        status="ready",
        duration_ms=round(hours * 3_600_000),
    )
    db.session.add(clip)
    db.session.flush()
    return clip
