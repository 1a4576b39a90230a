"""The command-line contract of docs/api.md, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, free_port
from tests.helpers.live_api import teacher_with_partnership
from tests.helpers.processes import stop, wait_until_answering

VIDEOCOACH = [sys.executable, "-m", "videocoach.cli"]


def cli_env(tmp_path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"), **extra}


@contextmanager
def cli_server(tmp_path: Path, *options: str) -> Iterator[str]:
    """`videocoach serve` as a real process on a free port; yields its base URL once /healthz
    answers (a server that exits or takes over 60 s fails the test with its output)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*VIDEOCOACH, "serve", "--port", str(port), *options],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5).close()
                break
            except OSError:
                if server.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                server.terminate()  # so reading its output cannot block on a hung server
                raise AssertionError(server.stdout.read() if server.stdout else "") from None
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_help_lists_the_commands():
    result = subprocess.run([*VIDEOCOACH, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "worker", "db", "create-user"):
        assert command in result.stdout


def test_create_user_reads_the_password_from_the_environment(tmp_path):
    env = cli_env(tmp_path, VIDEOCOACH_PASSWORD=PASSWORD)
    args = [*VIDEOCOACH, "create-user", "--email", "Head@School.example", "--name", "Head"]
    created = subprocess.run(
        [*args, "--admin"], env=env, capture_output=True, text=True, timeout=60
    )
    assert created.returncode == 0, created.stderr
    assert "Created admin account head@school.example" in created.stdout
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_create_user_refuses_a_weak_password(tmp_path):
    env = cli_env(tmp_path, VIDEOCOACH_PASSWORD="short")
    result = subprocess.run(
        [*VIDEOCOACH, "create-user", "--email", "a@school.example", "--name", "A"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr


@pytest.mark.slow
def test_serve_applies_migrations_and_serves_the_signup_page(tmp_path):
    with cli_server(tmp_path, "--no-worker") as base:
        with urllib.request.urlopen(f"{base}/signup", timeout=5) as page:
            body = page.read().decode()
        assert "Create your account" in body
        assert (tmp_path / "data" / "videocoach.sqlite3").exists()
        # Nothing processes uploads without a worker, and /readyz says so.
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(f"{base}/readyz", timeout=5)
        assert not_ready.value.code == 503
        problems = json.loads(not_ready.value.read())["problems"]
        assert problems[0].startswith("No background worker has reported")


@pytest.mark.slow
def test_serve_runs_the_embedded_worker_that_processes_uploads(tmp_path, media_samples):
    """What `make run` gives a teacher: upload a clip, and it becomes ready with no broker."""
    import requests

    with cli_server(tmp_path) as base:
        token, pid = teacher_with_partnership(base, "tess@school.example", PASSWORD, "Tess", "P")
        auth = {"Authorization": f"Bearer {token}"}
        with media_samples["h264_aac.mp4"].open("rb") as clip_file:
            created = requests.post(
                f"{base}/api/v1/partnerships/{pid}/clips",
                files={"file": ("lesson.mp4", clip_file, "video/mp4")},
                headers=auth,
                timeout=30,
            )
        assert created.status_code == 202
        clip_url = f"{base}/api/v1/clips/{created.json()['clip']['id']}"
        deadline = time.monotonic() + 90
        while (clip := requests.get(clip_url, headers=auth, timeout=10).json()["clip"])[
            "status"
        ] not in ("ready", "failed"):
            assert time.monotonic() < deadline, clip
            time.sleep(0.3)
        assert clip["status"] == "ready", clip["error"]
        video = requests.get(base + clip["media"]["video"], headers=auth, timeout=10)
        assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"


@pytest.mark.slow
def test_serve_prints_a_few_lines_and_ends_with_where_it_runs(tmp_path):
    """`make run`: no Celery banner nor a line per migration; once the server listens and
    its worker is up, the last line says where to open it and where the data is."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = (tmp_path / "data").resolve()
    lines: list[str] = []
    server = subprocess.Popen(
        [*VIDEOCOACH, "serve", "--port", str(port)],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_until_answering(base, [server], timeout=60, what_went_wrong=lambda: "".join(lines))
        deadline = time.monotonic() + 45
        while not any("is running on" in line for line in lines):
            assert time.monotonic() < deadline and server.poll() is None, "".join(lines)
            time.sleep(0.2)
        time.sleep(2)  # anything the worker would still print at start-up
        printed = list(lines)
    finally:
        stop(server)
        reader.join(timeout=10)
    output = "".join(printed)
    assert len(printed) < 25, output
    assert "--------------" not in output and "[tasks]" not in output, output  # the banner
    assert "Running upgrade" not in output and "Context impl" not in output, output
    assert "database upgraded from empty to" in output
    last = printed[-1]
    assert last.startswith(f"videocoach is running on {base}/"), output
    assert f"data in {data_dir}" in last and "Ctrl+C to stop" in last, output


def test_worker_says_plainly_when_ffmpeg_is_missing(tmp_path):
    env = cli_env(tmp_path, FFMPEG_BINARY="/nonexistent/ffmpeg")
    result = subprocess.run(
        [*VIDEOCOACH, "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "/nonexistent/ffmpeg was not found (FFMPEG_BINARY=/nonexistent/ffmpeg)" in result.stderr
    assert "apt-get install ffmpeg" in result.stderr
    assert "Traceback" not in result.stderr
