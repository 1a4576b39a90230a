"""The command-line contract of docs/api.md, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import PASSWORD, free_port

VIDEOCOACH = [sys.executable, "-m", "videocoach.cli"]


def cli_env(tmp_path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"), **extra}


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
    port = free_port()
    server = subprocess.Popen(
        [*VIDEOCOACH, "serve", "--port", str(port), "--no-worker"],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/signup", timeout=5) as page:
                    body = page.read().decode()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(server.stdout.read() if server.stdout else "") from None
                time.sleep(0.2)
        assert "Create your account" in body
        assert (tmp_path / "data" / "videocoach.sqlite3").exists()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert ready.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_serve_runs_the_embedded_worker_that_processes_uploads(tmp_path, media_samples):
    """What `make run` gives a teacher: upload a clip, and it becomes ready with no broker."""
    import requests

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*VIDEOCOACH, "serve", "--port", str(port)],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        account = {"email": "tess@school.example", "password": PASSWORD}
        requests.post(f"{base}/api/v1/auth/register", json={**account, "name": "Tess"}, timeout=10)
        token = requests.post(f"{base}/api/v1/auth/tokens", json=account, timeout=10).json()[
            "token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        pid = requests.post(
            f"{base}/api/v1/partnerships",
            json={"name": "P", "role": "teacher"},
            headers=auth,
            timeout=10,
        ).json()["partnership"]["id"]
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
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_worker_says_plainly_when_ffmpeg_is_missing(tmp_path):
    env = cli_env(tmp_path, FFMPEG_BINARY="/nonexistent/ffmpeg")
    result = subprocess.run(
        [*VIDEOCOACH, "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "/nonexistent/ffmpeg was not found (FFMPEG_BINARY=/nonexistent/ffmpeg)" in result.stderr
    assert "apt-get install ffmpeg" in result.stderr
    assert "Traceback" not in result.stderr
