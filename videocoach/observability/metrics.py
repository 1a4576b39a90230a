"""Prometheus metrics, in prometheus-client's multiprocess mode.

Every process of one host (gunicorn's workers, `videocoach worker` and its pool, `serve`)
writes its counters to its own files in the host's metrics folder; /metrics (see
videocoach.monitoring) adds them up and appends what the database and broker say at that
moment (clips by status, queue depth, live streams). Files are named by host and process
id, so web and worker containers may share one folder. A process that starts a host's
service (serve, gunicorn's master, a worker) removes the files of this host's processes
that have ended: their counts start again from zero, which Prometheus reads as a restart.

Features record through the functions below; none of them touches prometheus-client.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import socket
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
# The text format generate_latest() writes (prometheus-client names it).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# A clip's step runs for seconds (probe) to an hour (a long transcode).
STEP_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
FILE_NAME = re.compile(r"^.+_(?P<host>[^_]+)-(?P<pid>\d+)\.db$")


def _host() -> str:
    # "_" separates the parts of prometheus-client's file names.
    return socket.gethostname().replace("_", "-") or "host"


def _process_identifier() -> str:
    return f"{_host()}-{os.getpid()}"


class _Metrics:
    def __init__(self) -> None:
        registry = CollectorRegistry()  # the values live in the files, not in a registry
        self.request_seconds = Histogram(
            "videocoach_http_request_duration_seconds",
            "Time to answer a request (to the first byte of a stream), by endpoint and status",
            ["endpoint", "method", "status"],
            registry=registry,
        )
        self.jobs = Counter(
            "videocoach_jobs",
            "Clip processing jobs that ended, by the step they ended in and how",
            ["step", "outcome"],
            registry=registry,
        )
        self.step_seconds = Histogram(
            "videocoach_job_step_duration_seconds",
            "Time a clip's processing step took, by step",
            ["step"],
            buckets=STEP_BUCKETS,
            registry=registry,
        )
        self.emails = Counter(
            "videocoach_emails",
            "Emails handed to SMTP (sent), refused by it (failed), or kept in the outbox "
            "folder because SMTP_URL is not set (kept)",
            ["outcome"],
            registry=registry,
        )


_metrics: _Metrics | None = None
_folder: Path | None = None
_failed_once = False


def start_recording(metrics_dir: Path) -> None:
    """This process records into `metrics_dir` from now on (the first call wins: one
    process belongs to one installation)."""
    global _metrics, _folder
    if _metrics is not None:
        if metrics_dir != _folder:
            log.debug("metrics already go to %s, not %s", _folder, metrics_dir)
        return
    metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    values.ValueClass = values.MultiProcessValue(_process_identifier)
    _folder = metrics_dir
    _metrics = _Metrics()


def forget_ended_processes(metrics_dir: Path) -> int:
    """Remove the files of this host's processes that are no longer running; how many."""
    host, removed = _host(), 0
    for path in metrics_dir.glob("*.db"):
        match = FILE_NAME.match(path.name)
        if match is None or match["host"] != host or _running(int(match["pid"])):
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: running
    return True


def _recording(record: Callable[[_Metrics], object]) -> None:
    """Counting never fails what is counted: a metrics folder that went away (deleted,
    full, read-only) costs the numbers, logged once, never a request or a job."""
    global _failed_once
    if _metrics is None:
        return
    try:
        record(_metrics)
    except Exception as error:  # any failure of the files: see above
        if not _failed_once:
            _failed_once = True
            log.warning("metrics are not recorded: %s (%s)", error, _folder)


def request_answered(endpoint: str, method: str, status: int, seconds: float) -> None:
    _recording(lambda m: m.request_seconds.labels(endpoint, method, str(status)).observe(seconds))


def job_ended(step: str, outcome: str) -> None:
    _recording(lambda m: m.jobs.labels(step, outcome).inc())


def step_took(step: str, seconds: float) -> None:
    _recording(lambda m: m.step_seconds.labels(step).observe(seconds))


def email_handled(outcome: str) -> None:
    _recording(lambda m: m.emails.labels(outcome).inc())


class _RecordedCollector(Collector):
    """What every process of the host recorded, added up."""

    def __init__(self, metrics_dir: Path) -> None:
        self.metrics_dir = metrics_dir

    def collect(self):  # type: ignore[no-untyped-def]
        files = glob.glob(str(self.metrics_dir / "*.db"))
        return MultiProcessCollector.merge(files, accumulate=True)


def exposition(metrics_dir: Path, current: Iterable[Collector] = ()) -> bytes:
    """The Prometheus text format: the host's recorded metrics and `current` state."""
    registry = CollectorRegistry()
    registry.register(_RecordedCollector(metrics_dir))
    for collector in current:
        registry.register(collector)
    return generate_latest(registry)
