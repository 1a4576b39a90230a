"""The live channel across web processes through the Redis at 127.0.0.1:6379: a listener
on one server hears what the driver does through another. One server is gunicorn with
the production settings of docker/ (two worker processes), the other the embedded one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import app_config, free_port
from tests.helpers.processes import wait_until_answering
from tests.meetings.conftest import MeetingWorld

REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LATENCY_LIMIT_S = 1.0
PER_USER = 6  # the first test opens five streams as one person


def output_of(process: subprocess.Popen) -> Callable[[], str]:
    return lambda: process.stdout.read() if process.stdout else ""


def server_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **app_config(database_url, tmp_path / "data", **extra),
        "CELERY_BROKER_URL": "",
        "WEB_CONCURRENCY": "2",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def two_servers(
    world: MeetingWorld, database_url: str, tmp_path: Path
) -> Iterator[tuple[list[str], list[subprocess.Popen]]]:
    env = server_env(
        database_url, tmp_path, REDIS_URL=REDIS_URL, VIDEOCOACH_LIVE_STREAMS_PER_USER=str(PER_USER)
    )
    ports = [free_port(), free_port()]
    commands = [
        [
            str(BIN / "gunicorn"),
            "-c",
            str(ROOT / "docker" / "gunicorn.conf.py"),
            "-b",
            f"127.0.0.1:{ports[0]}",
            "videocoach.wsgi:app",
        ],
        [str(BIN / "videocoach"), "serve", "--no-worker", "--port", str(ports[1])],
    ]
    processes = [
        subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for command in commands
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for process, url in zip(processes, urls, strict=True):
            wait_until_answering(url, [process], what_went_wrong=output_of(process))
        yield urls, processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_events_cross_web_processes_through_redis(world: MeetingWorld, two_servers, listen) -> None:
    (gunicorn, embedded), processes = two_servers
    tokens = world.studio.tokens
    auth = {"Authorization": f"Bearer {tokens['teacher']}"}
    mid = requests.post(
        f"{embedded}/api/v1/clips/{world.clip_id}/meetings", headers=auth, timeout=10
    ).json()["meeting"]["id"]
    # Several listeners on gunicorn land on its different worker processes.
    on_gunicorn = [listen(gunicorn, mid, tokens["coach"]) for _ in range(4)]
    on_embedded = listen(embedded, mid, tokens["coach"])

    started = time.monotonic()
    moved = requests.put(
        f"{embedded}/api/v1/meetings/{mid}/playback",
        json={"position": 21.5, "playing": False},
        headers=auth,
        timeout=10,
    )
    assert moved.status_code == 200
    for listener in on_gunicorn:
        assert listener.wait_for("playback", position=21.5)
    assert time.monotonic() - started < LATENCY_LIMIT_S

    requests.post(
        f"{gunicorn}/api/v1/clips/{world.clip_id}/comments",
        json={"body": "Seen on both", "t_start": 21.5},
        headers=auth,
        timeout=10,
    )
    assert on_embedded.wait_for("comment")["body"] == "Seen on both"

    # Removal through one process drops the member's streams on the other.
    removed = requests.delete(
        f"{embedded}/api/v1/partnerships/{world.studio.pid}/members/{world.studio.coach_id}",
        headers=auth,
        timeout=10,
    )
    assert removed.status_code == 204
    for listener in on_gunicorn:
        assert listener.wait_for("bye")

    # A graceful stop of gunicorn (a deploy) is not held up by open streams.
    teacher_streams = [listen(gunicorn, mid, tokens["teacher"]) for _ in range(2)]
    stopping = time.monotonic()
    processes[0].terminate()
    processes[0].wait(timeout=60)
    assert time.monotonic() - stopping < 10  # graceful_timeout is 60 s
    assert all(stream.closed.wait(5) for stream in teacher_streams)


def test_a_persons_cap_holds_across_web_processes(world: MeetingWorld, two_servers, listen) -> None:
    """Counted in the database, told through Redis: one person's streams on three
    processes never exceed the cap, and the oldest make way wherever they are."""
    (gunicorn, embedded), _ = two_servers
    token = world.studio.tokens["teacher"]
    mid = requests.post(
        f"{embedded}/api/v1/clips/{world.clip_id}/meetings",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["meeting"]["id"]
    streams = [listen((gunicorn, embedded)[n % 2], mid, token) for n in range(PER_USER + 3)]
    for replaced in streams[:3]:
        assert replaced.wait_for("bye")["code"] == "replaced"
        assert replaced.closed.wait(5)
    assert not any(stream.closed.wait(0.2) for stream in streams[3:])
    coach = listen(gunicorn, mid, world.studio.tokens["coach"])
    assert [person["name"] for person in coach.events[0][1]["present"]] == ["Cole", "Tess"]


def test_the_embedded_server_stops_promptly_with_streams_open(
    world: MeetingWorld, database_url: str, tmp_path: Path, listen
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "videocoach"), "serve", "--no-worker", "--port", str(port)],
        env=server_env(database_url, tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(url, [server], what_went_wrong=output_of(server))
        mid = world.start()["id"]
        listener = listen(url, mid, world.studio.tokens["coach"])
        stopping = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        assert time.monotonic() - stopping < 5  # not held up by the open stream
        assert listener.closed.wait(5)
    finally:
        if server.poll() is None:
            server.kill()
