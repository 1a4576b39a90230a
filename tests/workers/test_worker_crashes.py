"""Workers and their dependencies killed for real (SIGKILL, a Redis restarted, a database
cut off), with real `videocoach serve` / `videocoach worker` processes: nothing is lost,
nothing stays stuck, and /readyz tells the truth meanwhile."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import select

from tests.conftest import app_config, free_port
from tests.helpers.processes import running
from tests.helpers.tcp_proxy import TcpProxy
from tests.studio import Studio, make_studio
from tests.workers.test_celery_worker import wait_for_status, worker_process
from videocoach import background, create_app, db
from videocoach.clips import files
from videocoach.clips.models import Clip
from workers import pipeline

# Short enough for a test, long enough that a busy machine's heartbeats keep up.
QUICK = {
    "VIDEOCOACH_JOB_STALE_SECONDS": "4",
    "VIDEOCOACH_RECONCILE_SECONDS": "1",
}


@pytest.fixture
def config(database_url, tmp_path, app) -> dict[str, str]:
    """Settings shared by the test's app and the processes (`app`: tables emptied after)."""
    return {**app_config(database_url, tmp_path / "data"), **QUICK}


def eventually(check: Callable[[], object], timeout: float = 60, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.25)


def readyz(base: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}  # not listening yet


def live_worker_pids(app) -> set[int]:
    with app.app_context():
        since = pipeline.utcnow() - background.WORKER_STALE_AFTER
        rows = db.session.scalars(
            select(background.WorkerHeartbeat.pid).where(
                background.WorkerHeartbeat.beat_at >= since
            )
        )
        return set(rows)


@contextmanager
def serve(config: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        log.open("w") as out,
        running(
            [sys.executable, "-m", "videocoach.cli", "serve", "--port", str(port)],
            env={**os.environ, **config},
            stdout=out,
            stderr=subprocess.STDOUT,
        ) as server,
    ):
        eventually(lambda: server.poll() is None and readyz(base)[0] == 200, 90, "serve ready")
        yield base


def test_serve_restarts_its_killed_worker_and_readyz_says_so_meanwhile(
    config, make_user, media_samples, tmp_path
):
    """Seen: the embedded worker died, `serve` kept serving without it, /readyz said ok, and
    every upload waited forever."""
    app = create_app(config)
    log = tmp_path / "serve.log"
    with serve(config, log) as base:
        (first,) = live_worker_pids(app)
        os.kill(first, signal.SIGKILL)
        status, body = eventually(lambda: (r := readyz(base))[0] == 503 and r, 30, "503")
        assert status == 503
        assert any("background worker" in problem for problem in body["problems"]), body
        eventually(lambda: readyz(base)[0] == 200, 90, "the restarted worker")
        (second,) = live_worker_pids(app) - {first}
        assert second != first
        studio = make_studio(app, make_user)
        clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
        eventually(lambda: studio.clip(clip_id)["status"] == "ready", 90, "clip ready")
    said = log.read_text()
    assert "was killed by SIGKILL; starting it again" in said


def killer_ffmpeg(tmp_path: Path) -> Path:
    """An "ffmpeg" that kills the process running the job, every time (an OOM kill, say)."""
    script = tmp_path / "ffmpeg-that-kills-its-worker"
    script.write_text(f'#!/bin/sh\nkill -9 $PPID\nexec {shutil.which("ffmpeg")} "$@"\n')
    script.chmod(0o755)
    return script


def test_a_clip_that_kills_its_worker_every_time_fails_after_the_cap(
    config, make_user, media_samples, tmp_path
):
    """Seen: with acks_late and reject_on_worker_lost such a clip was redelivered forever."""
    config = {**config, "FFMPEG_BINARY": str(killer_ffmpeg(tmp_path))}
    studio = make_studio(create_app(config), make_user)
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    with worker_process(config) as worker:
        clip = wait_for_status(studio, clip_id, worker, statuses=("failed",), timeout=150)
    assert clip["error"] == pipeline.GAVE_UP.format(attempts=3)
    assert clip["can_retry"] is True
    with studio.app.app_context():
        assert db.session.get(Clip, clip_id).attempts == 3


def stored_names(studio: Studio, clip_id: str) -> list[str]:
    root = studio.app.extensions["videocoach.settings"].data_dir / "media"
    prefix = root / files.clip_prefix(clip_id)
    return sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file())


def long_lesson(tmp_path: Path) -> Path:
    """Long enough to kill mid-transcode; MPEG-4 Part 2, so it takes the transcode path."""
    path = tmp_path / "long-lesson.avi"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc2=size=960x540:rate=30:duration=90", "-f", "lavfi", "-i",
         "sine=frequency=300:duration=90", "-c:v", "mpeg4", "-q:v", "5", "-c:a", "mp3",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_a_worker_killed_mid_transcode_finishes_the_clip_after_restart_with_clean_outputs(
    config, make_user, tmp_path
):
    studio = make_studio(create_app(config), make_user)
    clip_id = studio.upload(long_lesson(tmp_path)).json["clip"]["id"]
    data_dir = studio.app.extensions["videocoach.settings"].data_dir
    with worker_process(config) as worker:
        eventually(lambda: transcoding(studio.clip(clip_id)), 180, "transcode under way")
        os.kill(worker.pid, signal.SIGKILL)  # the worker and, with it, its pool and ffmpeg
        worker.wait(timeout=10)
    assert files.scratch_dir(data_dir, clip_id).exists()  # a crash leaves it behind...
    eventually(lambda: not orphaned_ffmpeg(data_dir), 10, "ffmpeg to die with its worker")
    with worker_process(config) as worker:
        clip = wait_for_status(studio, clip_id, worker, timeout=240)
    assert clip["status"] == "ready", clip["error"]
    assert not files.scratch_dir(data_dir, clip_id).exists()  # ...and the restart removed it
    names = stored_names(studio, clip_id)
    assert len(names) == len(set(names))
    assert not [name for name in names if name.startswith(".") or "tmp" in name]
    with studio.app.app_context():
        recorded = sorted(a.name for a in db.session.get(Clip, clip_id).assets)
    assert names == recorded  # every stored file is a recorded asset, and nothing else


def transcoding(clip: dict) -> bool:
    """The transcode has started; a clip that already ended cannot be killed mid-way."""
    assert clip["status"] in ("queued", "processing"), clip
    return clip["step"] == "transcode"


def orphaned_ffmpeg(data_dir: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-af", "ffmpeg"], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if str(data_dir) in line]


@contextmanager
def own_redis(port: int, workdir: Path) -> Iterator[None]:
    """A redis-server of the test's own, without persistence (the harshest restart)."""
    workdir.mkdir(exist_ok=True)
    args = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", str(workdir)]  # fmt: skip
    with running(args, stdout=subprocess.DEVNULL) as server:
        import redis

        client = redis.Redis(port=port)
        eventually(lambda: _pings(client), 20, "redis-server")
        yield
        server.terminate()


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_jobs_queued_when_redis_restarts_are_not_lost(config, make_user, media_samples, tmp_path):
    port = free_port()
    config = {
        **config,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        # Lost with Redis: the next reconcile sees them waiting that long and hands them over.
        "VIDEOCOACH_PROCESSING_DELAY_MINUTES": "0.05",
    }
    studio = make_studio(create_app(config), make_user)
    with own_redis(port, tmp_path / "redis"):
        queued = [
            studio.upload(media_samples[name]).json["clip"]["id"]
            for name in ("h264_aac.mp4", "no_audio.mp4")
        ]
    with own_redis(port, tmp_path / "redis"), worker_process(config) as worker:
        for clip_id in queued:
            clip = wait_for_status(studio, clip_id, worker, timeout=120)
            assert clip["status"] == "ready", clip["error"]


def postgres_behind(proxy: TcpProxy, database_url: str) -> str:
    parts = urlsplit(database_url)
    netloc = (
        f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    )
    return urlunsplit(parts._replace(netloc=netloc))


def test_an_unreachable_database_is_a_503_with_a_sentence_and_recovers_by_itself(
    database_url, make_app, make_user, app
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite is a file: it cannot become unreachable")
    parts = urlsplit(database_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    cut_off = make_app(DATABASE_URL=postgres_behind(proxy, database_url))
    studio = make_studio(cut_off, make_user)
    me = "/api/v1/me"
    assert studio.get(me).status_code == 200
    proxy.cut()
    away = studio.get(me)
    assert away.status_code == 503
    assert away.json["error"]["code"] == "service_unavailable"
    assert away.json["error"]["message"].startswith("The service cannot reach its database")
    assert away.headers["Retry-After"] == "30"
    page = studio.get("/partnerships")
    assert page.status_code == 503
    assert b"cannot reach its database" in page.data
    proxy.restore()
    assert studio.get(me).status_code == 200  # recovered, without a restart
    proxy.cut()


def test_sign_in_with_redis_down_still_works_and_is_still_rate_limited(config, tmp_path):
    """Seen: with REDIS_URL at a closed port, POST /api/v1/auth/tokens answered 500. Now the
    limits fall back to this process's memory (with a warning): never open, never a 500."""
    import requests

    config = {
        **config,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "VIDEOCOACH_LOGIN_RATE_LIMIT": "3 per minute",
        "VIDEOCOACH_PASSWORD": "a long enough password",
    }
    env = {**os.environ, **config}
    subprocess.run(
        [sys.executable, "-m", "videocoach.cli", "create-user", "--email", "t@school.example",
         "--name", "T"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    log = tmp_path / "serve.log"
    args = [sys.executable, "-m", "videocoach.cli", "serve", "--no-worker", "--port", str(port)]
    with log.open("w") as out, running(args, env=env, stdout=out, stderr=subprocess.STDOUT):
        base = f"http://127.0.0.1:{port}"
        eventually(lambda: readyz(base)[0] == 503, 60, "serve up (not ready: Redis is away)")
        credentials = {"email": "t@school.example", "password": "a long enough password"}
        statuses = [
            requests.post(f"{base}/api/v1/auth/tokens", json=credentials, timeout=30).status_code
            for _ in range(4)
        ]
        assert statuses == [201, 201, 201, 429]
        problems = readyz(base)[1]["problems"]
        assert "Redis (REDIS_URL) does not answer." in problems
    assert "falling back to in-memory storage" in log.read_text()
