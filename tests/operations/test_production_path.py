"""The production path end to end, as docker/compose.yaml runs it, with real processes:
gunicorn with docker/gunicorn.conf.py (two processes), two `videocoach worker` processes,
PostgreSQL, Redis (broker, live events, rate limits) and an S3 server (moto), all in
production mode. A teacher and a coach sign up through the API; the teacher uploads a
lesson through tus; the workers process it into S3; the video is delivered through a
presigned URL; the coach comments; a meeting's events reach every listener; /metrics
shows the job and the requests; the logs are JSON lines that carry request ids; and
`videocoach export-partnership` writes a zip that is opened and checked.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import (
    BUCKET,
    POSTGRES_URL,
    drop_postgres_schema,
    free_port,
    new_postgres_schema,
)
from tests.helpers.processes import wait_until_answering
from tests.helpers.tus import metadata_header
from tests.meetings.conftest import Listener

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS = "redis://127.0.0.1:6379/0"
PASSWORD = "a long and private passphrase"
PROCESSED_WITHIN_S = 180
CHUNK = 64 * 1024
REQUESTS = "videocoach_http_request_duration_seconds_count"


@dataclass
class Installation:
    url: str
    env: dict[str, str]
    metrics_token: str
    logs: dict[str, Path]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def cli(self, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "videocoach.cli", *args],
            env={**self.env, "VIDEOCOACH_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )


def _start(name: str, command: list[str], env: dict[str, str], logs: dict[str, Path], cwd: Path):
    logs[name] = cwd / f"{name}.log"
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=logs[name].open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def _all_logs(installation: Installation) -> str:
    return "\n".join(
        f"--- {name}\n{path.read_text()[-4000:]}" for name, path in installation.logs.items()
    )


@pytest.fixture
def installation(s3_endpoint: str, tmp_path: Path) -> Iterator[Installation]:
    schema, database_url = new_postgres_schema()
    assert database_url.startswith(POSTGRES_URL)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "VIDEOCOACH_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS,
        "CELERY_BROKER_URL": REDIS,
        # Its own queue: other tests' workers on this Redis never take its jobs.
        "VIDEOCOACH_CELERY_QUEUE": f"e2e-{secrets.token_hex(4)}",
        "VIDEOCOACH_STORAGE": f"s3://{BUCKET}/e2e-{secrets.token_hex(4)}",
        "S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "e2e-key",
        "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),
        "AWS_DEFAULT_REGION": "us-east-1",
        "VIDEOCOACH_METRICS_TOKEN": secrets.token_hex(24),
        # One host: web and workers add their counts up in one folder.
        "VIDEOCOACH_METRICS_DIR": str(tmp_path / "metrics"),
        "VIDEOCOACH_SIGNUP": "open",
        "VIDEOCOACH_SIGNUP_DOMAINS": "",
        "VIDEOCOACH_PUBLIC_URL": "",
        "VIDEOCOACH_TASKS_EAGER": "",
        "SMTP_URL": "",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    for name in ("VIDEOCOACH_LOG_FORMAT", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    installation = Installation(
        url=f"http://127.0.0.1:{port}",
        env=env,
        metrics_token=env["VIDEOCOACH_METRICS_TOKEN"],
        logs={},
    )
    try:
        migrated = installation.cli("db", "upgrade", data_dir=tmp_path / "migrate")
        assert migrated.returncode == 0, migrated.stderr
        web_env = {**env, "VIDEOCOACH_DATA_DIR": str(tmp_path / "web")}
        installation.processes.append(
            _start(
                "gunicorn",
                [
                    str(BIN / "gunicorn"),
                    "-c",
                    str(ROOT / "docker" / "gunicorn.conf.py"),
                    "videocoach.wsgi:app",
                ],
                web_env,
                installation.logs,
                tmp_path,
            )
        )
        for number in (1, 2):
            worker_env = {**env, "VIDEOCOACH_DATA_DIR": str(tmp_path / f"worker{number}")}
            installation.processes.append(
                _start(
                    f"worker{number}",
                    [sys.executable, "-m", "videocoach.cli", "worker", "--concurrency", "1"],
                    worker_env,
                    installation.logs,
                    tmp_path,
                )
            )
        wait_until_answering(
            installation.url,
            installation.processes,
            path="/readyz",
            what_went_wrong=lambda: _all_logs(installation),
        )
        yield installation
    finally:
        for process in installation.processes:
            process.terminate()
        for process in installation.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        drop_postgres_schema(schema)


def _api(installation: Installation, method: str, path: str, token: str | None = None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(
        method, f"{installation.url}/api/v1{path}", headers=headers, timeout=30, **kwargs
    )


def _sign_up(installation: Installation, name: str) -> str:
    email = f"{name.lower()}-{secrets.token_hex(3)}@school.example"
    account = {"email": email, "password": PASSWORD}
    assert (
        _api(installation, "POST", "/auth/register", json={**account, "name": name}).status_code
        == 201
    )
    answer = _api(installation, "POST", "/auth/tokens", json=account)
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def _tus_upload(installation: Installation, token: str, pid: str, data: bytes) -> str:
    tus = {"Tus-Resumable": "1.0.0"}
    created = _api(
        installation,
        "POST",
        "/uploads",
        token,
        headers={
            **tus,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata_header(
                partnership_id=pid,
                filename="lesson.mp4",
                title="Fractions, week 3",
                visibility="shared",
            ),
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    upload_url = location if location.startswith("http") else installation.url + location
    offset, clip_id = 0, None
    while offset < len(data):
        chunk = data[offset : offset + CHUNK]
        last = offset + len(chunk) == len(data)
        patched = requests.patch(
            upload_url,
            data=chunk,
            headers={
                **tus,
                "Authorization": f"Bearer {token}",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                # The request that completes the upload queues its processing.
                **({"X-Request-Id": "e2e-last-patch"} if last else {}),
            },
            timeout=30,
        )
        assert patched.status_code == 204, patched.text
        offset = int(patched.headers["Upload-Offset"])
        clip_id = patched.headers.get("Videocoach-Clip-Id") or clip_id
    assert clip_id
    return clip_id


def _metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def _json_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_the_production_path_end_to_end(installation, media_samples, tmp_path):
    teacher, coach = _sign_up(installation, "Tess"), _sign_up(installation, "Cole")
    started = _api(
        installation,
        "POST",
        "/partnerships",
        teacher,
        json={"name": "Tess + Cole", "role": "teacher"},
    )
    assert started.status_code == 201, started.text
    pid = started.json()["partnership"]["id"]
    coach_email = _api(installation, "GET", "/me", coach).json()["user"]["email"]
    invited = _api(
        installation,
        "POST",
        f"/partnerships/{pid}/invitations",
        teacher,
        json={"email": coach_email, "role": "coach"},
    )
    assert invited.status_code == 201, invited.text
    invitation = invited.json()["accept_url"].split("token=")[1]
    assert (
        _api(
            installation, "POST", "/invitations/accept", coach, json={"token": invitation}
        ).status_code
        == 200
    )

    # Upload through tus; two workers share the queue; the result lands in S3.
    lesson = media_samples["h264_aac.mp4"].read_bytes()
    clip_id = _tus_upload(installation, teacher, pid, lesson)
    deadline = time.monotonic() + PROCESSED_WITHIN_S
    while (clip := _api(installation, "GET", f"/clips/{clip_id}", teacher).json()["clip"])[
        "status"
    ] != "ready":
        assert clip["status"] in ("queued", "processing"), clip
        assert time.monotonic() < deadline, _all_logs(installation)
        time.sleep(0.5)

    # The video is delivered through a short-lived presigned URL to the S3 server.
    video = clip["media"]["video"]
    video_url = video if video.startswith("http") else installation.url + video
    redirect = requests.get(
        video_url, headers={"Authorization": f"Bearer {coach}"}, allow_redirects=False, timeout=30
    )
    assert redirect.status_code in (302, 307), redirect.text
    presigned = redirect.headers["Location"]
    assert presigned.startswith(installation.env["S3_ENDPOINT_URL"]) and "Signature" in presigned
    delivered = requests.get(presigned, headers={"Range": "bytes=0-1023"}, timeout=30)
    assert delivered.status_code == 206 and len(delivered.content) == 1024
    assert requests.get(video_url, allow_redirects=False, timeout=30).status_code in (401, 404)

    # A meeting: every listener hears the coach's comment, whichever process serves it
    # (gunicorn's two processes share live events through Redis).
    meeting = _api(installation, "POST", f"/clips/{clip_id}/meetings", teacher)
    assert meeting.status_code == 201, meeting.text
    mid = meeting.json()["meeting"]["id"]
    listeners = []
    for token in (teacher, teacher, coach, coach):
        stream = requests.get(
            f"{installation.url}/api/v1/meetings/{mid}/events",
            headers={"Authorization": f"Bearer {token}"},
            stream=True,
            timeout=30,
        )
        assert stream.status_code == 200
        listener = Listener(stream)
        threading.Thread(target=listener.read, daemon=True).start()
        listener.wait_for("hello")
        listeners.append(listener)
    commented = _api(
        installation,
        "POST",
        f"/clips/{clip_id}/comments",
        coach,
        json={"body": "Wait time after the question: 4 s", "t_start": 0.5},
    )
    assert commented.status_code == 201, commented.text
    for listener in listeners:
        assert listener.wait_for("comment")["body"] == "Wait time after the question: 4 s"
        listener.close()
    assert _api(installation, "POST", f"/meetings/{mid}/end", teacher).status_code == 200

    # /metrics: the job (counted by a worker process) and the requests (by gunicorn's).
    scrape = requests.get(
        f"{installation.url}/metrics",
        headers={"Authorization": f"Bearer {installation.metrics_token}"},
        timeout=30,
    )
    assert scrape.status_code == 200
    text = scrape.text
    assert _metric(text, "videocoach_jobs_total", outcome="ready") == 1
    assert _metric(text, "videocoach_job_step_duration_seconds_count", step="transcode") == 1
    patches = len(lesson) // CHUNK + 1
    assert _metric(text, REQUESTS, endpoint="tus.patch", method="PATCH", status="204") == patches
    assert _metric(text, REQUESTS, endpoint="comments_api.create_comment", status="201") == 1
    assert _metric(text, "videocoach_clips", status="ready") == 1
    assert _metric(text, "videocoach_workers_alive") == 2
    assert (
        _metric(text, "videocoach_queue_depth", queue=installation.env["VIDEOCOACH_CELERY_QUEUE"])
        == 0
    )
    assert _metric(text, "videocoach_emails_total", outcome="kept") >= 1
    assert requests.get(f"{installation.url}/metrics", timeout=30).status_code == 404

    # Links that carry a token are logged without it.
    link_tokens = [secrets.token_urlsafe(24) for _ in range(2)]
    for path in (
        f"/password/reset/{link_tokens[0]}",
        f"/notifications/unsubscribe/{link_tokens[1]}",
    ):
        assert requests.get(f"{installation.url}{path}?x=1", timeout=30).status_code in (200, 404)

    # JSON log lines; the job's lines carry the id of the request that queued it.
    redacted = {"/password/reset/[token]", "/notifications/unsubscribe/[token]"}
    deadline = time.monotonic() + 30  # a gunicorn process writes its line once it has answered
    while True:
        access = [
            line
            for line in _json_lines(installation.logs["gunicorn"])
            if line.get("logger") == "gunicorn.access"
        ]
        if redacted <= {line["path"] for line in access} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    [last_patch] = [line for line in access if line.get("request_id") == "e2e-last-patch"]
    assert last_patch["method"] == "PATCH" and last_patch["status"] == "204"
    assert last_patch["client_address"] == last_patch["peer_address"] == "127.0.0.1"
    worker_lines = _json_lines(installation.logs["worker1"]) + _json_lines(
        installation.logs["worker2"]
    )
    assert any(
        line["message"] == f"clip {clip_id} is ready" and line["request_id"] == "e2e-last-patch"
        for line in worker_lines
    )
    everything = "".join(path.read_text() for path in installation.logs.values())
    assert PASSWORD not in everything and teacher not in everything and coach not in everything
    assert not any(token in everything for token in link_tokens)
    assert redacted <= {line["path"] for line in access}

    # The export a leaving teacher takes along, from the production settings.
    target = tmp_path / "export" / "tess.zip"
    target.parent.mkdir()
    exported = installation.cli(
        "export-partnership", pid, "--to", str(target), data_dir=tmp_path / "cli"
    )
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        print("\n".join(f"{i.file_size:>9}  {i.filename}" for i in archive.infolist()))
        assert {
            "README.txt",
            "partnership.json",
            "comments.json",
            "comments.csv",
            "meetings.json",
        } <= set(names)
        [video_name] = [name for name in names if name.endswith("/video.mp4")]
        assert archive.read(video_name)[4:8] == b"ftyp"
        [vtt] = [name for name in names if name.endswith("/comments.vtt")]
        assert "Wait time after the question: 4 s" in archive.read(vtt).decode()
        assert json.loads(archive.read("partnership.json"))["partnership"]["name"] == "Tess + Cole"
