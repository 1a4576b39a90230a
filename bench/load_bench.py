"""Load: many users at once on gunicorn + PostgreSQL, started as the Docker image runs it.

    .venv/bin/python bench/load_bench.py [--users 50] [--seconds 60]

Needs the `bench` extra (`pip install -e ".[test,bench]"`: locust), PostgreSQL at
127.0.0.1:5432 (trust auth, database `test`; VIDEOCOACH_TEST_POSTGRES_URL overrides),
Redis at 127.0.0.1:6379 (LOAD_BENCH_REDIS_URL, default db 9) and ffmpeg.

1. A schema of its own in `test` (dropped at the end), a temporary data directory, a
   Celery queue of its own on Redis (its keys are deleted at the end; nothing is flushed).
2. `videocoach db upgrade`, then `videocoach worker` and
   `gunicorn -c docker/gunicorn.conf.py videocoach.wsgi:app`, both with
   VIDEOCOACH_ENV=production and the settings of docker/.env.example; gunicorn listens on a
   free port of 127.0.0.1 only (`--bind`; the container binds 0.0.0.0 and compose publishes
   the port on 127.0.0.1) with the config file's workers and threads.
3. Seeds through the HTTP API only: a teacher and a coach (register, API tokens), their
   partnership (invitation, accepted), goals, clips (a generated H.264 + AAC file uploaded
   multipart and processed by the worker until `ready`), one view of each clip page per
   account (unless --no-prior-views) and a few comments per clip.
4. Locust, headless (bench/locustfile.py), three phases with the same number of users:
   `--reference-seconds` of GET /healthz alone (the reference), `--seconds` of the mix
   (browser users: sign in, review page, comments list, comments written with cookie +
   CSRF; API users: bearer token, comments list, comments written; /healthz in both),
   then /healthz alone again. The mean of the two /healthz phases is the reference.
5. Counts the comments in the database against the 201 answers locust saw (none may be
   lost), the errors (none allowed: failed requests, 5xx in gunicorn's log, tracebacks in
   either log), and prints a markdown table: p50/p95/p99 and requests/s per endpoint,
   requests/s also as a ratio to /healthz alone, and the CPU each part used. Exits 1 on
   errors or lost comments.

Percentiles and throughput are over the steady part of each phase: from the moment every
user is running to the end of the phase; signing in (once per browser user, as it starts)
is reported over all its requests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import requests
import sqlalchemy as sa

from bench.common import PASSWORD, ROOT, free_port, percentile, process, wait_http

POSTGRES_URL = os.environ.get(
    "VIDEOCOACH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LOAD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
BIN = Path(sys.executable).parent  # the venv's bin: gunicorn, videocoach, locust
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
# Settings this bench sets itself; inherited values are dropped so nothing leaks in.
OWN_SETTINGS = {
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "RATELIMIT_STORAGE_URI",
    "SECRET_KEY",
    "SMTP_URL",
    "PORT",
    "S3_ENDPOINT_URL",
}
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


# --- setup ----------------------------------------------------------------------------


def create_schema() -> str:
    schema = f"vc_load_{secrets.token_hex(6)}"
    engine = sa.create_engine(sa_url(POSTGRES_URL))
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema


def drop_schema(schema: str) -> None:
    engine = sa.create_engine(sa_url(POSTGRES_URL))
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def clean_redis(queue: str, address_prefix: str) -> int:
    """Delete this run's keys only: its Celery queue and bindings, its rate-limit counters."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    removed = 0
    for pattern in (f"*{queue}*", f"*LIMITER/{address_prefix}.*"):
        for key in client.scan_iter(match=pattern, count=500):
            removed += client.delete(key)
    client.close()
    return removed


def server_env(schema: str, data_dir: Path, port: int, queue: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VIDEOCOACH_") and key not in OWN_SETTINGS
    }
    separator = "&" if "?" in POSTGRES_URL else "?"
    env.update(
        {
            # compose.yaml's environment, and the Dockerfile's
            "VIDEOCOACH_ENV": "production",
            "VIDEOCOACH_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            # docker/.env.example, with this machine's services
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}",
            "REDIS_URL": REDIS_URL,
            "CELERY_BROKER_URL": REDIS_URL,
            "VIDEOCOACH_CELERY_QUEUE": queue,
            "VIDEOCOACH_PUBLIC_URL": f"https://127.0.0.1:{port}",
            # Locust stands in for the proxy on this machine (bench/locustfile.py).
            "VIDEOCOACH_TRUSTED_PROXIES": "127.0.0.1",
            "VIDEOCOACH_SIGNUP": "open",
            "SMTP_URL": "",
            "PORT": str(port),
        }
    )
    return env


def make_video(path: Path, seconds: float) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=640x360:rate=25:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
    )


# --- seeding through the API ------------------------------------------------------------


class Api:
    """requests against the server, as through the TLS proxy (see bench/locustfile.py)."""

    def __init__(self, base: str, address: str, token: str | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": address})
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int, **kwargs) -> dict:  # type: ignore[no-untyped-def]
        response = self.http.request(method, self.base + path, timeout=60, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(
                f"{method} {path}: expected {expect}, got {response.status_code}: "
                f"{response.text[:500]}"
            )
        return response.json() if response.content else {}


def seed(base: str, address: str, options: argparse.Namespace, video: Path) -> dict:
    anonymous = Api(base, address)
    people = [("teacher", "Tara Teacher"), ("coach", "Colin Coach")]
    accounts = []
    for role, name in people:
        email = f"{role}-{secrets.token_hex(3)}@school.example"
        user = anonymous.call(
            "POST",
            "/api/v1/auth/register",
            201,
            json={"email": email, "password": PASSWORD, "name": name},
        )
        token = anonymous.call(
            "POST",
            "/api/v1/auth/tokens",
            201,
            json={"email": email, "password": PASSWORD, "label": "load bench"},
        )
        accounts.append(
            {"role": role, "email": email, "id": user["user"]["id"], "token": token["token"]}
        )
    teacher = Api(base, address, accounts[0]["token"])
    coach = Api(base, address, accounts[1]["token"])

    pid = teacher.call(
        "POST",
        "/api/v1/partnerships",
        201,
        json={"name": "Tara + Colin, load bench", "role": "teacher"},
    )["partnership"]["id"]
    invitation = teacher.call(
        "POST",
        f"/api/v1/partnerships/{pid}/invitations",
        201,
        json={"email": accounts[1]["email"], "role": "coach"},
    )
    invite_token = urllib.parse.parse_qs(urllib.parse.urlparse(invitation["accept_url"]).query)
    coach.call("POST", "/api/v1/invitations/accept", 200, json={"token": invite_token["token"][0]})
    goals = [
        teacher.call(
            "POST",
            f"/api/v1/partnerships/{pid}/goals",
            201,
            json={"title": title, "success_criteria": "Most of the lesson"},
        )["goal"]["id"]
        for title in ("Wait time after questions", "Cold calling", "Clear transitions")
    ]

    clip_ids = []
    for i in range(options.clips):
        with video.open("rb") as handle:
            clip = teacher.call(
                "POST",
                f"/api/v1/partnerships/{pid}/clips",
                202,
                files={"file": (f"lesson-{i + 1}.mp4", handle, "video/mp4")},
                data={
                    "title": f"Year 8 science, lesson {i + 1}",
                    "visibility": "shared",
                    "recorded_on": "2026-09-30",
                },
            )["clip"]
        clip_ids.append(clip["id"])
    log(f"uploaded {len(clip_ids)} clips; waiting for the worker to process them")
    clips = []
    deadline = time.monotonic() + options.processing_timeout
    for cid in clip_ids:
        while True:
            clip = teacher.call("GET", f"/api/v1/clips/{cid}", 200)["clip"]
            if clip["status"] == "ready":
                clips.append({"id": cid, "duration_s": clip["duration_s"]})
                break
            if clip["status"] == "failed":
                raise RuntimeError(f"clip {cid} failed to process: {clip['error']}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"clip {cid} not ready after {options.processing_timeout} s "
                    f"(status {clip['status']})"
                )
            time.sleep(0.5)

    if not options.no_prior_views:
        # Each person has opened each clip before (a page view records it in clip_views), as
        # in a school's running installation. --no-prior-views leaves the first views to the
        # load, where many sessions of one account open a clip at the same moment.
        for api in (teacher, coach):
            for clip in clips:
                response = api.http.get(f"{base}/clips/{clip['id']}", timeout=60)
                if response.status_code != 200:
                    raise RuntimeError(f"clip page: {response.status_code}")

    seeded = []
    for clip in clips:
        for i in range(options.seed_comments):
            author = (teacher, coach)[i % 2]
            comment = author.call(
                "POST",
                f"/api/v1/clips/{clip['id']}/comments",
                201,
                json={
                    "body": f"Seed comment {i}: see the _questions_ here",
                    "t_start": round((i * 1.37) % (clip["duration_s"] - 1), 3),
                    "kind": ["strength", "question", "suggestion", "note"][i % 4],
                    "goal_ids": [goals[i % len(goals)]],
                },
            )
            seeded.append(comment["comment"]["id"])
    return {
        "partnership_id": pid,
        "accounts": accounts,
        "goal_ids": goals,
        "clips": clips,
        "seeded_comments": seeded,
    }


# --- running locust ------------------------------------------------------------------------


def busy_cpu() -> float:
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq + times.steal


class CpuSampler(threading.Thread):
    """CPU seconds used by groups of processes while a phase runs, sampled every 0.5 s so
    that gunicorn workers recycled mid-phase (max_requests) and new database backends are
    counted too (a process's last sample stands for it once it has gone)."""

    def __init__(self, groups: dict[str, Callable[[], list[psutil.Process]]]) -> None:
        super().__init__(daemon=True)
        self.groups = groups
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.done = threading.Event()
        self.sample(baseline=True)

    def sample(self, baseline: bool = False) -> None:
        for group, find in self.groups.items():
            for proc in find():
                try:
                    cpu = proc.cpu_times()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                key = (group, proc.pid)
                self.first.setdefault(key, cpu.user + cpu.system if baseline else 0.0)
                self.last[key] = cpu.user + cpu.system

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.sample()

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.join()
        self.sample()
        totals: dict[str, float] = dict.fromkeys(self.groups, 0.0)
        for (group, pid), last in self.last.items():
            totals[group] += max(0.0, last - self.first[(group, pid)])
        return totals


def process_tree(pid: int) -> Callable[[], list[psutil.Process]]:
    def find() -> list[psutil.Process]:
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    return find


def postgres_processes() -> list[psutil.Process]:
    """Every PostgreSQL process on the machine: this server's backends, and any other
    client's (the machine is shared)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            found.append(proc)
    return found


def run_locust(
    phase: str,
    classes: list[str],
    seconds: int,
    options: argparse.Namespace,
    host: str,
    seed_path: Path,
    out_dir: Path,
    server_pid: int,
    worker_pid: int,
) -> dict:
    out = out_dir / f"{phase}.json"
    args = [
        str(BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "-u",
        str(options.users),
        "-r",
        str(options.spawn_rate),
        "-t",
        f"{seconds}s",
        # Users finish the request they are in before stopping, so every 201 is counted.
        "--stop-timeout",
        "30",
        "--csv",
        str(out_dir / phase),
        "--only-summary",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    env = {**os.environ, "LOAD_BENCH_SEED": str(seed_path), "LOAD_BENCH_OUT": str(out)}
    log(f"locust {phase}: {options.users} users ({', '.join(classes)}) for {seconds} s")
    wall, busy = time.monotonic(), busy_cpu()
    with (out_dir / f"{phase}.locust.log").open("w") as output:
        child = subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT)
        sampler = CpuSampler(
            {
                "gunicorn": process_tree(server_pid),
                "locust": process_tree(child.pid),
                "postgres": postgres_processes,
                "worker": process_tree(worker_pid),
            }
        )
        sampler.start()
        try:
            returncode = child.wait(timeout=seconds + 120)
        finally:
            if child.poll() is None:
                child.kill()
            cpu = sampler.stop()
    wall = time.monotonic() - wall
    if not out.exists():
        raise RuntimeError(
            f"locust {phase} wrote no results (exit {returncode}); "
            f"see {out_dir / (phase + '.locust.log')}"
        )
    result = json.loads(out.read_text())
    result.update(
        returncode=returncode,
        machine_busy_s=busy_cpu() - busy,
        cpu_s=cpu,
        wall_s=wall,
    )
    return result


def summarise(result: dict, seconds: int) -> tuple[dict[str, dict], float]:
    """Per request name: steady-state count, rate and percentiles."""
    marks = result["marks"]
    start = marks.get("spawning_complete", marks["test_start"])
    end = marks.get("test_stopping", marks["test_start"] + seconds)
    window = max(end - start, 1e-9)
    rows = {}
    for key, pairs in result["samples"].items():
        # Signing in happens once per user as it starts: all of it counts, as ramp-up.
        once = "/login" in key
        steady = [] if once else [ms for at, ms in pairs if start <= at <= end]
        values = steady or [ms for _, ms in pairs]
        rows[key] = {
            "steady": bool(steady),
            "count": len(values),
            "total": len(pairs),
            "rps": len(steady) / window,
            "p50": percentile(values, 0.50),
            "p95": percentile(values, 0.95),
            "p99": percentile(values, 0.99),
            "statuses": dict(result["statuses"].get(key, {})),
        }
    return rows, window


def server_problems(log_path: Path, offset: int) -> tuple[Counter, int]:
    """5xx answers per request line in gunicorn's access log, and tracebacks in the log,
    from `offset` on."""
    errors: Counter = Counter()
    tracebacks = 0
    with log_path.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("Traceback"):
            tracebacks += 1
        found = ACCESS_LINE.search(line)
        if found and found["status"].startswith("5"):
            path = re.sub(r"/[0-9a-f]{32}", "/[id]", found["path"])
            errors[f"{found['method']} {path} {found['status']}"] += 1
    return errors, tracebacks


GUNICORN_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([+-]\d{4})\] \[\d+\] ")


def worker_recycles(log_path: Path) -> list[float]:
    """When gunicorn workers began to recycle (max_requests), as Unix times."""
    times = []
    for line in log_path.read_text(errors="replace").splitlines():
        found = GUNICORN_TIME.match(line)
        if found and "Autorestarting worker" in line:
            stamp = datetime.strptime(" ".join(found.groups()), "%Y-%m-%d %H:%M:%S %z")
            times.append(stamp.timestamp())
    return times


def describe_failure(failure: dict, recycles: list[float]) -> str:
    at = datetime.fromtimestamp(failure["at"], UTC)
    text = f"{at:%H:%M:%S} UTC {failure['key']}: {failure['error']}"
    if not failure["status"]:
        near = [t for t in recycles if -1 <= failure["at"] - t <= 5]
        if near:
            text += " [no answer: a gunicorn worker began recycling (max_requests) at " + (
                ", ".join(f"{datetime.fromtimestamp(t, UTC):%H:%M:%S}" for t in near) + "]"
            )
    return text


def count_comments(database_url: str) -> set[str]:
    engine = sa.create_engine(sa_url(database_url))
    with engine.connect() as connection:
        ids = set(connection.execute(sa.text("SELECT id FROM comments")).scalars())
    engine.dispose()
    return ids


# --- report --------------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def table(phases: dict[str, dict[str, dict]], ref_rps: float, failures_by_key: Counter) -> str:
    lines = [
        "| phase | request | requests | req/s | vs /healthz alone | p50 | p95 | p99 | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for phase, rows in phases.items():
        order = sorted(rows, key=lambda k: (not rows[k]["steady"], "healthz" in k, k))
        for key in order:
            data = rows[key]
            rate = f"{data['rps']:.1f}" if data["steady"] else "(once per user)"
            ratio = f"{data['rps'] / ref_rps:.3f}" if data["steady"] else ""
            lines.append(
                f"| {phase} | `{key}` | {data['count']} | {rate} | {ratio} | {ms(data['p50'])} "
                f"| {ms(data['p95'])} | {ms(data['p99'])} | {failures_by_key[(phase, key)]} |"
            )
        if phase == "mix":
            steady = [d for d in rows.values() if d["steady"]]
            total = sum(d["rps"] for d in steady)
            errors = sum(v for (p, _), v in failures_by_key.items() if p == phase)
            lines.append(
                f"| mix | all requests | {sum(d['count'] for d in steady)} "
                f"| {total:.1f} | {total / ref_rps:.3f} | | | | {errors} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60, help="length of the mix")
    parser.add_argument(
        "--reference-seconds",
        type=int,
        default=20,
        help="length of each /healthz-only reference phase (before and after)",
    )
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=None,
        help="users started per second (default: all within 5 s)",
    )
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--clip-seconds", type=float, default=20)
    parser.add_argument("--seed-comments", type=int, default=20, help="per clip, before the load")
    parser.add_argument("--processing-timeout", type=float, default=300)
    parser.add_argument(
        "--no-prior-views",
        action="store_true",
        help="do not open each clip once per account before the load",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data and log directory")
    options = parser.parse_args()
    options.spawn_rate = options.spawn_rate or math.ceil(options.users / 5)

    started = datetime.now(UTC)
    load_average = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="vc-load-"))
    data_dir, out_dir = work / "data", work / "out"
    out_dir.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    queue = f"vc-load-{secrets.token_hex(4)}"
    address_prefix = f"127.{secrets.randbelow(250) + 2}"  # this run's client addresses
    schema = create_schema()
    env = server_env(schema, data_dir, port, queue)
    keep = options.keep
    problems: list[str] = []
    results: dict[str, dict] = {}
    lengths = {
        "reference before": options.reference_seconds,
        "mix": options.seconds,
        "reference after": options.reference_seconds,
    }
    log(f"schema {schema}, queue {queue}, data and logs in {work}")
    try:
        with ExitStack() as stack:
            subprocess.run(
                [str(BIN / "videocoach"), "db", "upgrade"],
                env=env,
                check=True,
                cwd=work,
                capture_output=True,
            )
            worker = stack.enter_context(
                process([str(BIN / "videocoach"), "worker"], env, work / "worker.log")
            )
            gunicorn = stack.enter_context(
                process(
                    [
                        str(BIN / "gunicorn"),
                        "-c",
                        str(ROOT / "docker" / "gunicorn.conf.py"),
                        "--bind",
                        f"127.0.0.1:{port}",
                        "videocoach.wsgi:app",
                    ],
                    env,
                    work / "gunicorn.log",
                )
            )
            wait_http(f"{base}/readyz", timeout=120)
            workers = len(psutil.Process(gunicorn.pid).children())
            log(f"gunicorn ready on {base}: {workers} worker processes")

            video = work / "lesson.mp4"
            make_video(video, options.clip_seconds)
            seeded = seed(base, f"{address_prefix}.255.1", options, video)
            seed_path = work / "seed.json"
            seed_path.write_text(
                json.dumps(
                    {
                        **seeded,
                        "host": f"127.0.0.1:{port}",
                        "address_prefix": address_prefix,
                        "password": PASSWORD,
                    }
                )
            )
            log(
                f"seeded: {len(seeded['clips'])} ready clips, "
                f"{len(seeded['seeded_comments'])} comments"
            )

            # Only what the load phases log counts (/readyz answers 503 while starting).
            load_log_offset = (work / "gunicorn.log").stat().st_size
            for phase, seconds in lengths.items():
                classes = ["BrowserUser", "ApiUser"] if phase == "mix" else ["HealthzUser"]
                results[phase] = run_locust(
                    phase.replace(" ", "-"),
                    classes,
                    seconds,
                    options,
                    base,
                    seed_path,
                    out_dir,
                    gunicorn.pid,
                    worker.pid,
                )
            time.sleep(1)  # let the access log catch up
        # Servers stopped (SIGTERM, graceful): every committed comment is in the database.
        in_db = count_comments(env["DATABASE_URL"])
    except BaseException:
        keep = True
        raise
    finally:
        drop_schema(schema)
        removed = clean_redis(queue, address_prefix)
        log(f"dropped schema {schema}; deleted {removed} Redis keys of this run")

    rows, windows = {}, {}
    for phase, result in results.items():
        rows[phase], windows[phase] = summarise(result, lengths[phase])
    references = [rows[p]["GET /healthz"]["rps"] for p in ("reference before", "reference after")]
    ref_rps = sum(references) / len(references)

    failures_by_key: Counter = Counter()
    failures: list[dict] = []
    for phase, result in results.items():
        failures += result["failures"]
        for failure in result["failures"]:
            failures_by_key[(phase, failure["key"])] += 1
    recycles = worker_recycles(work / "gunicorn.log")
    server_errors, tracebacks = server_problems(work / "gunicorn.log", load_log_offset)
    worker_tracebacks = (work / "worker.log").read_text(errors="replace").count("Traceback")

    created = [cid for result in results.values() for cid in result["created"]]
    seeded_ids = set(seeded["seeded_comments"])
    lost = set(created) - in_db
    duplicates = len(created) - len(set(created))
    unconfirmed = in_db - seeded_ids - set(created)
    posts_201 = sum(
        count
        for key, data in rows["mix"].items()
        if key.startswith("POST /api")
        for status, count in data["statuses"].items()
        if status == "201"
    )

    print(
        f"\nLoad: {options.users} users on gunicorn ({workers} worker processes x "
        f"{os.environ.get('GUNICORN_THREADS', '32')} threads) + PostgreSQL, "
        f"{started:%Y-%m-%d %H:%M} UTC, {psutil.cpu_count()} cores, load average at start "
        f"{load_average[0]:.1f}\n"
    )
    print(table(rows, ref_rps, failures_by_key))
    print()
    print(
        f"- /healthz alone: {references[0]:.0f} req/s before the mix, {references[1]:.0f} "
        f"after; their mean ({ref_rps:.0f}) is the reference of the ratios"
    )
    print(
        "- steady windows (all users running, to the end of the phase): "
        + ", ".join(f"{phase} {window:.1f} s" for phase, window in windows.items())
        + f"; ramp-up at {options.spawn_rate:g} users/s"
    )
    for phase, result in results.items():
        began, ended = result["marks"]["test_start"], result["marks"].get("test_stopping", 0)
        during = [t for t in recycles if began <= t <= ended + 1]
        print(f"- gunicorn workers recycled (max_requests) during {phase}: {len(during)}")
    print(
        f"- comments: {len(seeded_ids)} seeded + {posts_201} answered 201 = "
        f"{len(seeded_ids) + posts_201} expected; {len(in_db)} in the database; "
        f"lost {len(lost)}, duplicate ids {duplicates}, stored without a 201 seen "
        f"{len(unconfirmed)}"
    )
    print(
        f"- errors: {len(failures)} failed requests, {sum(server_errors.values())} 5xx in "
        f"gunicorn's access log, {tracebacks} tracebacks in gunicorn's log, "
        f"{worker_tracebacks} in the worker's"
    )
    for phase, result in results.items():
        wall, cpu = result["wall_s"], result["cpu_s"]
        rest = result["machine_busy_s"] - sum(cpu.values())
        print(
            f"- CPU, {phase} (cores, averaged over {wall:.0f} s with start-up): "
            + ", ".join(f"{group} {seconds / wall:.2f}" for group, seconds in cpu.items())
            + f", everything else {max(rest, 0) / wall:.2f}; machine "
            f"{result['machine_busy_s'] / wall / psutil.cpu_count():.0%} busy"
        )
    statuses = {key: data["statuses"] for key, data in rows["mix"].items()}
    print(f"- status codes (mix): {json.dumps(statuses)}")

    if failures:
        problems.append(
            f"{len(failures)} failed requests:\n  "
            + "\n  ".join(describe_failure(f, recycles) for f in failures[:20])
        )
    if server_errors:
        problems.append(f"5xx answers: {dict(server_errors)}")
    if tracebacks or worker_tracebacks:
        problems.append(f"tracebacks: gunicorn {tracebacks}, worker {worker_tracebacks}")
    if lost:
        problems.append(
            f"{len(lost)} comments answered 201 are not in the database: {sorted(lost)[:10]}"
        )
    if duplicates:
        problems.append(f"{duplicates} comment ids were answered 201 twice")
    if posts_201 != len(created):
        problems.append(f"locust counted {posts_201} 201 answers but recorded {len(created)} ids")
    for phase, result in results.items():
        if result["returncode"] not in (0, 1):  # 1: locust saw failures (counted above)
            problems.append(f"locust {phase} exited {result['returncode']}")
    if problems:
        keep = True
        print("\nFAILED:\n- " + "\n- ".join(problems))
    if keep:
        print(f"\nLogs and data kept in {work} (gunicorn.log, worker.log, out/)")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
