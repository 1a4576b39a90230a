"""tus behind a load balancer without stickiness: two real web servers, each with a data
directory of its own, one PostgreSQL schema and one S3 bucket, and a client whose
requests alternate between them."""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import boto3
import pytest
import requests

from tests.conftest import BUCKET, app_config, free_port
from tests.helpers.processes import running
from tests.helpers.tus import metadata_header
from videocoach import db
from videocoach.clips.models import Clip, ClipStatus, Upload
from workers import pipeline

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = "application/offset+octet-stream"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _wait_until_up(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server at {url} exited early"
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def shared_media(database_url: str, s3_endpoint: str) -> dict[str, str]:
    """What every web host shares: the database and the bucket (a prefix of our own)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several web hosts share a PostgreSQL database")
    return {
        "VIDEOCOACH_STORAGE": f"s3://{BUCKET}/hosts-{secrets.token_hex(4)}",
        "S3_ENDPOINT_URL": s3_endpoint,
    }


@pytest.fixture
def two_host_processes(
    app, database_url, shared_media, tmp_path
) -> Iterator[list[tuple[str, subprocess.Popen]]]:
    """Two `videocoach serve` processes, each with its own data directory: (url, process)."""
    hosts = []
    with ExitStack() as stack:
        for name in ("host-a", "host-b"):
            port = free_port()
            env = {
                **os.environ,
                **app_config(database_url, tmp_path / name, **shared_media),
                "CELERY_BROKER_URL": "",
                "PYTHONPATH": str(ROOT),
            }
            server = stack.enter_context(
                running(
                    [
                        sys.executable,
                        "-m",
                        "videocoach.cli",
                        "serve",
                        "--no-worker",
                        "--port",
                        str(port),
                    ],
                    env=env,
                    cwd=tmp_path,
                    stdout=stack.enter_context((tmp_path / f"{name}.log").open("wb")),
                    stderr=subprocess.STDOUT,
                )
            )
            hosts.append((f"http://127.0.0.1:{port}", server))
            _wait_until_up(server, hosts[-1][0])
        yield hosts


@pytest.fixture
def two_hosts(two_host_processes) -> list[str]:
    return [url for url, _ in two_host_processes]


def _member(make_user, api_for) -> tuple[dict[str, str], str]:
    api = api_for(make_user())
    created = api.post("/api/v1/partnerships", json={"name": "Lessons", "role": "teacher"})
    return {"Authorization": f"Bearer {api.token}"}, created.json["partnership"]["id"]


def _on(host: str, upload_url: str) -> str:
    """The same upload, asked of another host (the path is what a balancer forwards)."""
    return host + upload_url[upload_url.index("/api/") :]


def _staged_keys(endpoint: str, storage_url: str) -> list[str]:
    prefix = storage_url.removeprefix(f"s3://{BUCKET}/") + "/tus-staging/"
    listed = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_patches_alternating_between_two_hosts_make_one_processable_clip(
    make_app, make_user, api_for, two_hosts, shared_media, media_samples
):
    host_a, host_b = two_hosts
    auth, pid = _member(make_user, api_for)
    data = media_samples["h264_aac.mp4"].read_bytes()
    chunk = len(data) // 5 + 1
    created = requests.post(
        f"{host_a}/api/v1/uploads",
        headers={
            **TUS,
            **auth,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata_header(partnership_id=pid, filename="lesson.mp4"),
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    upload_url = created.headers["Location"]

    clip_id = None
    for number, start in enumerate(range(0, len(data), chunk)):
        writer, other = (host_a, host_b) if number % 2 == 0 else (host_b, host_a)
        patched = requests.patch(
            _on(writer, upload_url),
            data=data[start : start + chunk],
            headers={
                **TUS,
                **auth,
                "Upload-Offset": str(start),
                "Content-Type": OFFSET_TYPE,
            },
            timeout=60,
        )
        assert patched.status_code == 204, (writer, patched.text)
        end = min(start + chunk, len(data))
        assert patched.headers["Upload-Offset"] == str(end)
        asked = requests.head(_on(other, upload_url), headers={**TUS, **auth}, timeout=30)
        assert asked.status_code == 200
        assert asked.headers["Upload-Offset"] == str(end)  # the other host knows it too
        clip_id = patched.headers.get("Videocoach-Clip-Id")
    assert clip_id is not None
    assert asked.headers["Videocoach-Clip-Id"] == clip_id

    clip = requests.get(f"{host_b}/api/v1/clips/{clip_id}", headers=auth, timeout=30).json()["clip"]
    assert clip["original_size"] == len(data)
    assert _staged_keys(shared_media["S3_ENDPOINT_URL"], shared_media["VIDEOCOACH_STORAGE"]) == []

    # Any worker can process it: one with a data directory of its own and the same bucket.
    worker = make_app(**shared_media)  # its data directory is neither host's
    with worker.app_context():
        assert pipeline.process_clip(clip_id)
        processed = db.session.get(Clip, clip_id)
        assert processed.status == ClipStatus.READY.value, processed.error
        assert processed.original_sha256 == hashlib.sha256(data).hexdigest()
        assert processed.original_size == len(data)
    worker.extensions["videocoach.engine"].dispose()


def _bucket_bytes(endpoint: str, storage_url: str) -> bytes:
    client = boto3.client("s3", endpoint_url=endpoint)
    return b"".join(
        client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        for key in sorted(_staged_keys(endpoint, storage_url))
    )


def test_a_host_killed_mid_patch_loses_only_that_patch_and_the_other_host_resumes(
    app, make_user, api_for, two_host_processes, shared_media
):
    (host_a, server_a), (host_b, _) = two_host_processes
    auth, pid = _member(make_user, api_for)
    data = os.urandom(3 * 1024 * 1024)
    first = 1024 * 1024
    created = requests.post(
        f"{host_a}/api/v1/uploads",
        headers={
            **TUS,
            **auth,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata_header(partnership_id=pid, filename="lesson.mp4"),
            "Content-Type": OFFSET_TYPE,
        },
        data=data[:first],  # creation-with-upload: the first MiB is stored
        timeout=30,
    )
    assert created.headers["Upload-Offset"] == str(first)
    upload_url = created.headers["Location"]
    upload_id = upload_url.rsplit("/", 1)[1]

    # Host A receives half of the next PATCH and is killed while it waits for the rest.
    path = upload_url[upload_url.index("/api/") :]
    port = int(host_a.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: {auth['Authorization']}\r\nContent-Type: {OFFSET_TYPE}\r\n"
            f"Upload-Offset: {first}\r\nContent-Length: {len(data) - first}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[first : 2 * first])
        deadline = time.monotonic() + 30
        while not _claimed(app, upload_id):
            assert time.monotonic() < deadline, "host A never started writing"
            time.sleep(0.05)
        server_a.send_signal(signal.SIGKILL)
        server_a.wait(timeout=30)

    # What host B answers is what is durably stored: the first MiB, not the lost half.
    asked = requests.head(_on(host_b, upload_url), headers={**TUS, **auth}, timeout=30)
    assert asked.headers["Upload-Offset"] == str(first)
    endpoint, storage_url = shared_media["S3_ENDPOINT_URL"], shared_media["VIDEOCOACH_STORAGE"]
    assert _bucket_bytes(endpoint, storage_url) == data[:first]

    # The dead host's claim holds the upload for up to 30 s (423); the client retries.
    deadline = time.monotonic() + 60
    while True:
        resumed = requests.patch(
            _on(host_b, upload_url),
            data=data[first:],
            headers={**TUS, **auth, "Upload-Offset": str(first), "Content-Type": OFFSET_TYPE},
            timeout=60,
        )
        if resumed.status_code != 423 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert resumed.status_code == 204, resumed.text
    clip_id = resumed.headers["Videocoach-Clip-Id"]
    original = requests.get(
        f"{host_b}/api/v1/clips/{clip_id}/media/original", headers=auth, timeout=30
    )
    if original.status_code == 302:  # S3: a presigned URL
        original = requests.get(original.headers["Location"], timeout=30)
    assert original.content == data
    assert _staged_keys(endpoint, storage_url) == []


def _claimed(app, upload_id: str) -> bool:
    with app.app_context():
        return db.session.get(Upload, upload_id).writer_token is not None


def test_a_patch_on_one_host_while_the_other_writes_the_upload_is_423(
    app, make_user, api_for, two_hosts, shared_media
):
    host_a, host_b = two_hosts
    auth, pid = _member(make_user, api_for)
    data = os.urandom(200_000)
    created = requests.post(
        f"{host_a}/api/v1/uploads",
        headers={
            **TUS,
            **auth,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata_header(partnership_id=pid, filename="lesson.mp4"),
        },
        timeout=30,
    )
    upload_url = created.headers["Location"]
    upload_id = upload_url.rsplit("/", 1)[1]
    path = upload_url[upload_url.index("/api/") :]
    with socket.create_connection(("127.0.0.1", int(host_a.rsplit(":", 1)[1]))) as sock:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: {auth['Authorization']}\r\nContent-Type: {OFFSET_TYPE}\r\n"
            f"Upload-Offset: 0\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[:50_000])  # host A is receiving this body
        deadline = time.monotonic() + 30
        while not _claimed(app, upload_id):
            assert time.monotonic() < deadline, "host A never started writing"
            time.sleep(0.05)
        racing = requests.patch(
            _on(host_b, upload_url),
            data=data,
            headers={**TUS, **auth, "Upload-Offset": "0", "Content-Type": OFFSET_TYPE},
            timeout=30,
        )
        assert racing.status_code == 423
    # Host A stores what arrived before the client hung up; that is all there is.
    deadline = time.monotonic() + 30
    while _claimed(app, upload_id):
        assert time.monotonic() < deadline, "host A never finished the cut-off PATCH"
        time.sleep(0.05)
    asked = requests.head(_on(host_b, upload_url), headers={**TUS, **auth}, timeout=30)
    assert asked.headers["Upload-Offset"] == "50000"
    endpoint, storage_url = shared_media["S3_ENDPOINT_URL"], shared_media["VIDEOCOACH_STORAGE"]
    assert _bucket_bytes(endpoint, storage_url) == data[:50_000]
