"""A tus upload cut by a server crash resumes where the data on disk ends, not from 0.

Real processes: `videocoach serve` (the embedded server) is killed with SIGKILL halfway
through a PATCH body, started again on the same data directory, and the client asks
HEAD where to go on.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import PASSWORD, free_port

TUS = {"Tus-Resumable": "1.0.0"}
LENGTH = 4 * 1024 * 1024
CLI = [sys.executable, "-m", "videocoach.cli"]
pytestmark = pytest.mark.slow


@contextmanager
def embedded_server(data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {"PATH": os.environ["PATH"], "VIDEOCOACH_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not start")
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


def _metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def test_a_resume_after_a_server_crash_starts_where_the_data_ends(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"PATH": os.environ["PATH"], "VIDEOCOACH_DATA_DIR": str(data_dir)}
    subprocess.run(
        [*CLI, "create-user", "--email", "t@school.example", "--name", "Teacher"],
        env={**env, "VIDEOCOACH_PASSWORD": PASSWORD},
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = os.urandom(LENGTH)
    half = LENGTH // 2
    with embedded_server(data_dir, port) as server:
        token = requests.post(
            f"{base}/api/v1/auth/tokens",
            json={"email": "t@school.example", "password": PASSWORD},
            timeout=10,
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        pid = requests.post(
            f"{base}/api/v1/partnerships",
            json={"name": "L", "role": "teacher"},
            headers=auth,
            timeout=10,
        ).json()["partnership"]["id"]
        created = requests.post(
            f"{base}/api/v1/uploads",
            headers={
                **TUS,
                **auth,
                "Upload-Length": str(LENGTH),
                "Upload-Metadata": _metadata(partnership_id=pid, filename="lesson.mp4"),
            },
            timeout=10,
        )
        upload_url = created.headers["Location"]
        staged = data_dir / "uploads" / upload_url.rsplit("/", 1)[-1]
        # Half of the body, then silence: the server is killed while it waits for more.
        sock = socket.create_connection(("127.0.0.1", port))
        path = urlsplit(upload_url).path
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: 0\r\nContent-Length: {LENGTH}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[:half])
        deadline = time.monotonic() + 30
        while staged.stat().st_size < half and time.monotonic() < deadline:
            time.sleep(0.05)
        assert staged.stat().st_size == half
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        sock.close()

    with embedded_server(data_dir, port):
        asked = requests.head(upload_url, headers={**TUS, **auth}, timeout=10)
        assert asked.status_code == 200
        assert asked.headers["Upload-Offset"] == str(half)  # not 0: the bytes on disk count
        rest = requests.patch(
            upload_url,
            data=data[half:],
            headers={
                **TUS,
                **auth,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(half),
            },
            timeout=60,
        )
        assert rest.status_code == 204, rest.text
        clip_id = rest.headers["Videocoach-Clip-Id"]
        original = requests.get(f"{base}/api/v1/clips/{clip_id}/media/original", headers=auth)
        assert original.status_code == 200
        assert original.content == data
