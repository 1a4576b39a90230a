"""Gunicorn settings for the production image.

    gunicorn -c docker/gunicorn.conf.py videocoach.wsgi:app

These environment variables, read once at start-up, change the defaults:

WEB_CONCURRENCY      worker processes (default: 2 x CPUs + 1, at most 8)
GUNICORN_THREADS     threads per worker process (default 32)
GUNICORN_TIMEOUT     seconds before a stuck worker is killed and replaced (default 120)
GUNICORN_KEEPALIVE   seconds an idle keep-alive connection is held open (default 75)
GUNICORN_BIND        address(es) to listen on, comma-separated (default 127.0.0.1:$PORT)
PORT                 port of the default address (default 8000)
GUNICORN_LOGLEVEL    debug, info, warning, error (default info)

Which proxies' X-Forwarded-For/-Proto/-Host are believed is the app's setting,
VIDEOCOACH_TRUSTED_PROXIES (docs/configuration.md); gunicorn itself believes none.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

MAX_DEFAULT_WORKERS = 8


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _available_cpus() -> int:
    """CPUs this container may use: its CPU set, narrowed by a cgroup v2 quota if there is one."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return cpus
    if quota == "max":
        return cpus
    return max(1, min(cpus, -(-int(quota) // int(period))))  # ceiling division


# Loopback unless told otherwise: only a proxy on the same machine reaches the app.
# compose.yaml sets GUNICORN_BIND=0.0.0.0:8000, since there the container's own network is
# what the proxy service uses, and web publishes no port on the host.
DEFAULT_BIND = f"127.0.0.1:{_int_env('PORT', 8000)}"
bind = [part.strip() for part in (os.environ.get("GUNICORN_BIND") or DEFAULT_BIND).split(",")]

# Threads, not just processes: a resumable upload from a slow school connection, and a
# meeting's live event stream (Server-Sent Events), hold a thread for as long as they
# last. With gthread an idle keep-alive connection waits in the poller without holding a
# thread. A live stream holds no database connection while it waits, so the busy
# threads that do (at most the SQLAlchemy pool, 15 per process) stay well below
# PostgreSQL's max_connections (100 by default) for WEB_CONCURRENCY up to 6.
worker_class = "gthread"
workers = _int_env("WEB_CONCURRENCY", min(2 * _available_cpus() + 1, MAX_DEFAULT_WORKERS))
threads = _int_env("GUNICORN_THREADS", 32)
# Live streams may take three quarters of a process's threads; the rest keep serving
# pages and API calls. Beyond that a new stream is refused with 503 and the browser
# retries (live events go through Redis, so any process can serve any stream).
os.environ.setdefault("VIDEOCOACH_LIVE_STREAMS", str(max(1, threads * 3 // 4)))

# With gthread the timeout is a heartbeat of the worker process, not a limit on one
# request, so a long upload is not cut off by it; it replaces a process that hangs.
timeout = _int_env("GUNICORN_TIMEOUT", 120)
# On restart or redeploy, give in-flight requests (an upload chunk) time to finish.
graceful_timeout = 60
# Longer than the idle timeout of common proxies (nginx upstream keepalive 60 s, cloud
# load balancers 60 s), so gunicorn never closes a connection the proxy is about to reuse.
keepalive = _int_env("GUNICORN_KEEPALIVE", 75)

# No recycling by default: a worker restarting after max_requests closes its kept-alive
# connections, and a request the proxy sends on one at that moment is cut off unanswered
# (gunicorn issue #3038; seen as a lost comment POST in bench/load_bench.py). No leak has
# been measured; set GUNICORN_MAX_REQUESTS to recycle anyway (jitter: a tenth of it).
max_requests = _int_env("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10

# Not preloaded: each worker builds its own app and database pool after the fork.
preload_app = False
# The heartbeat file lives in memory, not on a possibly slow overlay filesystem. It holds
# nothing secret, so a shared tmpfs is fine.
SHARED_MEMORY_DIR = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHARED_MEMORY_DIR if os.path.isdir(SHARED_MEMORY_DIR) else None

# gunicorn believes no forwarded header from anyone (not even FORWARDED_ALLOW_IPS, its own
# variable): one place decides who the client is, the app, from VIDEOCOACH_TRUSTED_PROXIES
# (videocoach/proxies.py), for the scheme as for the address.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}

# Logs go to stdout/stderr, where `docker compose logs` collects them. The access log
# records the path without its query string: invitation tokens travel in the query.
# client= is the address the app took as the client (what rate limits count; a forwarded
# one only from a trusted proxy), peer= the address that connected (the proxy, if any).
# The raw X-Forwarded-For is not logged: anyone can write anything there.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = (
    'client=%(h)s peer=%({videocoach.peer_addr}e)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s '
    '%(M)sms "%(a)s"'
)


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    """On a graceful stop (SIGTERM: a deploy or a restart) end the open meeting streams at
    once. Each would otherwise hold its worker until graceful_timeout; the browsers
    reconnect by themselves, to the new workers."""
    import signal
    import threading

    live = getattr(worker.wsgi, "extensions", {}).get("videocoach.live")
    if live is None:
        return

    def handle_exit(sig, frame) -> None:  # type: ignore[no-untyped-def]
        worker.handle_exit(sig, frame)
        # Not in the signal handler itself: the hub takes a lock.
        threading.Thread(target=live.hub.shut_down, daemon=True).start()

    signal.signal(signal.SIGTERM, handle_exit)
    signal.siginterrupt(signal.SIGTERM, False)


@functools.cache
def _settings():  # type: ignore[no-untyped-def]
    """The app's settings (read once), or None when they are wrong: each worker then
    says why."""
    from videocoach.config import Settings
    from videocoach.errors import ConfigError

    try:
        return Settings.from_env()
    except ConfigError:
        return None


def _log_config() -> dict[str, object]:
    from videocoach.observability.logs import gunicorn_log_config

    settings = _settings()
    return gunicorn_log_config(settings.log_format if settings else "json")


# gunicorn's own lines (start, workers, access) in the app's format: JSON in production.
logconfig_dict = _log_config()
# Token-bearing paths (reset and unsubscribe links) are logged without their token.
logger_class = "videocoach.observability.gunicorn_logging.RedactingLogger"


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """A fresh start: the metric files of this host's ended processes go (their counts
    start again from zero, which Prometheus reads as a restart)."""
    from videocoach.observability import metrics

    settings = _settings()
    if settings is not None:
        metrics.forget_ended_processes(settings.metrics_dir)
