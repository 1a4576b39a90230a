"""The command-line contract of API.md, run as real processes."""

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
        if command == "worker":
            continue  # arrives with the media pipeline
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
