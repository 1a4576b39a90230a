"""A chunked request body with broken framing (a chunk size `zz`) is a 400 with the API's
error envelope on every route, never a 500, on each server that runs the app: the
embedded one (`videocoach serve`, cheroot), gunicorn with the production settings of
docker/, and werkzeug's development server. Over real sockets: each server dechunks the
body itself, and reports a broken chunk its own way. What follows a broken chunk is never
answered as a request of its own (request smuggling).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.conftest import app_config, free_port, serving
from tests.helpers.processes import running, wait_until_answering
from tests.studio import Studio

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BROKEN_CHUNK = b"zz\r\nnot a chunk\r\n0\r\n\r\n"
pytestmark = pytest.mark.slow


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _read_response(stream) -> Response | None:  # type: ignore[no-untyped-def]
    """One HTTP/1.1 response from a socket file, None when the server closed the
    connection or answered nothing in time."""
    try:
        status_line = stream.readline()
    except TimeoutError:
        return None
    if not status_line:
        return None
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int(stream.readline().split(b";")[0], 16):
            body += stream.read(size)
            stream.readline()
        stream.readline()
    else:
        body = stream.read(int(headers.get("content-length", "0")))
    return Response(int(status_line.split()[1]), headers, body)


def exchange(base_url: str, raw: bytes, wait_s: float = 2.0) -> list[Response]:
    """Send `raw` on one connection; every response that comes back within `wait_s`."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait_s) as sock:
        sock.sendall(raw)
        stream = sock.makefile("rb")
        responses = []
        while (response := _read_response(stream)) is not None:
            responses.append(response)
            if response.headers.get("connection", "").lower() == "close":
                break
        return responses


def chunked(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.fixture(scope="module", params=["embedded", "gunicorn", "werkzeug"])
def server(
    request: pytest.FixtureRequest,
    migrated_app: Flask,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The base URL of the test app on each server (the tests' users are in its database)."""
    if request.param == "werkzeug":
        with serving(migrated_app) as url:
            yield url
        return
    port = free_port()
    folder = tmp_path_factory.mktemp(request.param)
    env = {
        **os.environ,
        **app_config(database_url, folder / "data"),
        "CELERY_BROKER_URL": "",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "PYTHONPATH": str(ROOT),
    }
    if request.param == "embedded":
        command = [str(BIN / "videocoach"), "serve", "--no-worker", "--port", str(port)]
    else:
        config = str(ROOT / "docker" / "gunicorn.conf.py")
        command = [str(BIN / "gunicorn"), "-c", config, "-b", f"127.0.0.1:{port}"]
        command.append("videocoach.wsgi:app")
    url = f"http://127.0.0.1:{port}"
    with running(command, env=env, cwd=folder, stdout=subprocess.DEVNULL) as process:
        wait_until_answering(url, [process])
        yield url


def shared_clip(app: Flask, pair: Studio) -> str:
    return pair.add_clip_row()


def new_upload(server: str, pair: Studio) -> str:
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"partnership_id": pair.pid, "filename": "lesson.mp4"}.items()
    )
    created = requests.post(
        f"{server}/api/v1/uploads",
        headers={
            **pair.headers(),
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "100",
            "Upload-Metadata": metadata,
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return "/api/v1/uploads/" + created.headers["Location"].rsplit("/", 1)[-1]


def assert_bad_body(response: Response) -> None:
    assert response.status == 400, (response.status, response.body[:500])
    assert response.headers["content-type"] == "application/json"
    error = json.loads(response.body)["error"]
    assert error["code"] == "bad_request_body"
    assert error["message"] == (
        "The request body could not be read: its chunked transfer encoding is broken. "
        "Send the request again."
    )


def test_a_broken_chunk_in_a_tus_patch_is_400_with_the_error_envelope(server, pair):
    path = new_upload(server, pair)
    headers = {
        **pair.headers(),
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
    }
    (response,) = exchange(server, chunked("PATCH", path, headers, chunk(b"hello") + BROKEN_CHUNK))
    assert_bad_body(response)
    assert response.headers["tus-resumable"] == "1.0.0"
    # The client learns where to resume, as after any failed PATCH.
    head = requests.head(
        f"{server}{path}", headers={**pair.headers(), "Tus-Resumable": "1.0.0"}, timeout=10
    )
    assert head.status_code == 200
    assert int(head.headers["Upload-Offset"]) in (0, 5)


def test_a_broken_chunk_in_a_json_body_is_400_with_the_error_envelope(server, pair):
    clip_id = shared_clip(pair.app, pair)
    headers = {**pair.headers(), "Content-Type": "application/json"}
    path = f"/api/v1/clips/{clip_id}/comments"
    (response,) = exchange(server, chunked("POST", path, headers, BROKEN_CHUNK))
    assert_bad_body(response)


def test_a_broken_chunk_in_a_page_form_is_a_400_page(server):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    (response,) = exchange(server, chunked("POST", "/login", headers, BROKEN_CHUNK))
    assert response.status == 400
    assert response.headers["content-type"].startswith("text/html")
    assert b"its chunked transfer encoding is broken" in response.body


def test_a_well_formed_chunked_body_still_works(server, pair):
    clip_id = shared_clip(pair.app, pair)
    headers = {**pair.headers(), "Content-Type": "application/json"}
    path = f"/api/v1/clips/{clip_id}/comments"
    body = chunk(b'{"body": "Nice wait ') + chunk(b'time", "t_start": 3}') + b"0\r\n\r\n"
    (response, *_) = exchange(server, chunked("POST", path, headers, body))
    assert response.status == 201, response.body
    comment = json.loads(response.body)["comment"]
    assert comment["body"] == "Nice wait time"


def test_what_follows_a_broken_chunk_is_never_answered_as_a_request(server, pair):
    clip_id = shared_clip(pair.app, pair)
    headers = {**pair.headers(), "Content-Type": "application/json"}
    smuggled = b"zz\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    responses = exchange(
        server, chunked("POST", f"/api/v1/clips/{clip_id}/comments", headers, smuggled)
    )
    assert [response.status for response in responses] == [400]
