"""The tus 1.0 endpoint, driven over real HTTP by an independent client (tuspy) and raw requests.

Processing is not under test: the jobs a finished upload queues go to a broker
nobody reads here. What is under test is the protocol, resumption after a
dropped connection, access control, termination and expiration, on both ways of
staging the bytes: a file in the data directory (local media) and one object per
PATCH in the bucket (S3 media).
"""

from __future__ import annotations

import fcntl
import io
import os
import secrets
import socket
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from tusclient import client as tus_client

from tests.conftest import BUCKET, serving
from tests.helpers.tus import metadata_header
from videocoach import db
from videocoach.clips.models import Upload
from videocoach.clips.uploads import sweep_expired
from videocoach.db import utcnow
from videocoach.storage import current_storage

OFFSET_TYPE = "application/offset+octet-stream"
TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Member:
    """A user with a bearer token and a partnership of their own."""

    id: str
    token: str
    pid: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(params=["local", "s3"])
def app(request: pytest.FixtureRequest, app: Flask, make_app) -> Iterator[Flask]:
    """Local media (bytes staged in the data directory) and S3 media (staged in the bucket)."""
    if request.param == "local":
        yield app
        return
    on_s3 = make_app(
        VIDEOCOACH_STORAGE=f"s3://{BUCKET}/tus-{secrets.token_hex(4)}",
        S3_ENDPOINT_URL=request.getfixturevalue("s3_endpoint"),
    )
    yield on_s3
    on_s3.extensions["videocoach.engine"].dispose()  # an app per test: close its connections


def stages_in_bucket(app: Flask) -> bool:
    return app.extensions["videocoach.settings"].storage_url.startswith("s3://")


@pytest.fixture
def make_member(make_user, api_for) -> Callable[[], Member]:
    def factory() -> Member:
        user = make_user()
        api = api_for(user)
        created = api.post("/api/v1/partnerships", json={"name": "Lessons", "role": "teacher"})
        assert created.status_code == 201
        return Member(user.id, api.token, created.json["partnership"]["id"])

    return factory


@pytest.fixture
def member(make_member) -> Member:
    return make_member()


@pytest.fixture(params=["werkzeug", "cheroot"])
def live_server(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    """Both servers: werkzeug's (bodies read in Python) and the embedded cheroot, where a
    PATCH body is spliced from the socket straight into the staged file."""
    with serving(app, request.param) as url:
        yield url


@pytest.fixture
def uploads_url(live_server: str) -> str:
    return f"{live_server}/api/v1/uploads"


def http(method: str, url: str, **kwargs) -> requests.Response:
    return requests.request(method, url, timeout=30, **kwargs)


def post_creation(
    url: str, headers: dict[str, str], length: int = 10, **metadata: str
) -> requests.Response:
    """A creation POST with exactly these headers and metadata, no defaults: a refusal test
    shows all it sends."""
    creation = {"Upload-Length": str(length), "Upload-Metadata": metadata_header(**metadata)}
    return http("POST", url, headers={**headers, **creation})


def start_upload(url: str, member: Member, length: int, **metadata: str) -> requests.Response:
    metadata = {"partnership_id": member.pid, "filename": "lesson.mp4", **metadata}
    return post_creation(url, {**TUS, **member.auth}, length, **metadata)


def new_upload(url: str, member: Member, length: int) -> str:
    created = start_upload(url, member, length)
    assert created.status_code == 201, created.text
    return created.headers["Location"]


def send_patch(upload_url: str, member: Member, offset: int, body: bytes, **headers: str):
    base = {**TUS, **member.auth, "Upload-Offset": str(offset), "Content-Type": OFFSET_TYPE}
    return http("PATCH", upload_url, data=body, headers=base | headers)


def server_offset(upload_url: str, member: Member) -> int:
    head = http("HEAD", upload_url, headers={**TUS, **member.auth})
    assert head.status_code == 200
    return int(head.headers["Upload-Offset"])


def staging_dir(app: Flask) -> Path:
    return app.extensions["videocoach.settings"].data_dir / "uploads"


def upload_id(upload_url: str) -> str:
    return upload_url.rsplit("/", 1)[1]


def staged_file(app: Flask, upload_url: str) -> Path:
    return staging_dir(app) / upload_id(upload_url)


def staged_objects(app: Flask, upload_url: str) -> list[str]:
    """The upload's objects in the bucket, in the order of their bytes."""
    with app.app_context():
        listed = current_storage().list_objects(f"tus-staging/{upload_id(upload_url)}/")
        return sorted(item.key for item in listed)


def staged_bytes(app: Flask, upload_url: str) -> bytes | None:
    """The bytes staged for the upload, wherever this app stages them (the file, or every
    object, read from the bucket itself); None when nothing of it is staged."""
    if not stages_in_bucket(app):
        path = staged_file(app, upload_url)
        return path.read_bytes() if path.exists() else None
    keys = staged_objects(app, upload_url)
    if not keys:
        return None
    with app.app_context():
        return b"".join(current_storage().open(key).read() for key in keys)


def staged_names(app: Flask) -> set[str]:
    folder = staging_dir(app)
    names = {path.name for path in folder.iterdir()} if folder.exists() else set()
    if stages_in_bucket(app):
        with app.app_context():
            listed = current_storage().list_objects("tus-staging/")
            names |= {item.key.split("/")[1] for item in listed}
    return names


def stored_original(app: Flask, clip_id: str) -> bytes:
    with app.app_context(), current_storage().open(f"clips/{clip_id}/original") as stream:
        return stream.read()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the server"
        time.sleep(0.02)


def not_being_written(app: Flask, upload_url: str) -> bool:
    """True once no request holds the staged file's write lock (or the upload's writer
    claim, when the bytes are staged in the bucket)."""
    if stages_in_bucket(app):
        with app.app_context():
            upload = db.session.get(Upload, upload_id(upload_url))
            return upload.writer_token is None or upload.writer_until < utcnow()
    with staged_file(app, upload_url).open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


@contextmanager
def patch_in_progress(upload_url: str, member: Member, offset: int, declared: int, sent: bytes):
    """A PATCH whose body is still arriving: the socket stays open until the block ends."""
    parts = urlsplit(upload_url)
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in {
            "Host": parts.netloc,
            **TUS,
            **member.auth,
            "Upload-Offset": str(offset),
            "Content-Type": OFFSET_TYPE,
            "Content-Length": str(declared),
        }.items()
    )
    sock = socket.create_connection((parts.hostname, parts.port))
    try:
        sock.sendall(f"PATCH {parts.path} HTTP/1.1\r\n{head}\r\n".encode() + sent)
        yield sock
    finally:
        sock.close()


def drop_mid_patch(upload_url: str, member: Member, offset: int, declared: int, sent: bytes):
    """A PATCH that announces `declared` bytes, sends only `sent`, then hangs up."""
    assert len(sent) < declared
    with patch_in_progress(upload_url, member, offset, declared, sent):
        pass  # closed mid-body: the server never gets the rest


def finish_upload(uploader, max_patches: int = 10) -> None:
    """tuspy's upload(), but a server whose offset stops advancing fails instead of hanging."""
    for _ in range(max_patches):
        if uploader.offset >= uploader.get_file_size():
            return
        before = uploader.offset
        uploader.upload_chunk()
        assert uploader.offset > before, "the server's offset did not advance"
    assert uploader.offset == uploader.get_file_size()


def test_full_upload_in_several_patches_becomes_a_clip_with_the_exact_bytes(
    app, live_server, uploads_url, member
):
    data = os.urandom(300 * 1024)
    chunk = 64 * 1024
    tus = tus_client.TusClient(uploads_url, headers=member.auth)
    uploader = tus.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=chunk,
        metadata={
            "partnership_id": member.pid,
            "filename": "lesson.mp4",
            "title": "Fractions, period 3",
            "visibility": "shared",
        },
    )
    offsets, clip_ids = [], []
    for _ in range(5):  # bounded: a server that stops advancing must not hang the test
        uploader.upload_chunk()
        offsets.append(uploader.offset)
        clip_ids.append(uploader.request.response_headers.get("videocoach-clip-id"))

    assert offsets == [64 * 1024, 128 * 1024, 192 * 1024, 256 * 1024, len(data)]
    assert clip_ids[:-1] == [None] * 4  # only the last byte makes a clip
    clip_id = clip_ids[-1]
    assert clip_id
    assert uploader.url.startswith(uploads_url + "/")

    fetched = http("GET", f"{live_server}/api/v1/clips/{clip_id}", headers=member.auth)
    assert fetched.status_code == 200
    clip = fetched.json()["clip"]
    assert clip["partnership_id"] == member.pid
    assert clip["title"] == "Fractions, period 3"
    assert clip["visibility"] == "shared"
    assert clip["uploaded_by"] == member.id
    assert clip["original_size"] == len(data)
    assert stored_original(app, clip_id) == data
    assert staged_bytes(app, uploader.url) is None  # made into the original, then removed


def test_a_finished_upload_still_answers_head_and_a_repeated_patch_with_its_clip(
    app, live_server, uploads_url, member, make_member
):
    """A phone whose last PATCH answer was lost asks again: it must learn the clip, not
    upload the lesson a second time (tus 1.0: HEAD answers Upload-Offset when complete)."""
    data = os.urandom(3000)
    upload_url = new_upload(uploads_url, member, len(data))
    finished = send_patch(upload_url, member, 0, data)
    clip_id = finished.headers["Videocoach-Clip-Id"]

    head = http("HEAD", upload_url, headers={**TUS, **member.auth})
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Videocoach-Clip-Id"] == clip_id
    again = send_patch(upload_url, member, len(data), b"")
    assert again.status_code == 204
    assert again.headers["Upload-Offset"] == str(len(data))
    assert again.headers["Videocoach-Clip-Id"] == clip_id
    assert send_patch(upload_url, member, 0, data).status_code == 409  # no second clip
    listed = http(
        "GET", f"{live_server}/api/v1/partnerships/{member.pid}/clips", headers=member.auth
    )
    assert [clip["id"] for clip in listed.json()["items"]] == [clip_id]
    assert stored_original(app, clip_id) == data

    outsider = make_member()
    assert http("HEAD", upload_url, headers={**TUS, **outsider.auth}).status_code == 404
    deleted = http("DELETE", f"{live_server}/api/v1/clips/{clip_id}", headers=member.auth)
    assert deleted.status_code == 204
    assert http("HEAD", upload_url, headers={**TUS, **member.auth}).status_code == 404


def test_upload_resumes_after_a_dropped_connection_keeping_the_bytes_that_arrived(
    app, live_server, uploads_url, member
):
    data = os.urandom(200 * 1024)
    chunk = 50 * 1024
    tus = tus_client.TusClient(uploads_url, headers=member.auth)
    metadata = {"partnership_id": member.pid, "filename": "drop.mp4", "title": "Dropped"}
    first = tus.uploader(file_stream=io.BytesIO(data), chunk_size=chunk, metadata=metadata)
    first.upload_chunk()
    assert first.offset == chunk
    upload_url = first.url

    arrived = 17_000  # of a 50 KiB chunk
    drop_mid_patch(upload_url, member, chunk, chunk, data[chunk : chunk + arrived])
    # The server notices the drop when its read ends; on a loaded machine that can take a while.
    wait_until(lambda: server_offset(upload_url, member) != chunk, timeout=30)
    assert server_offset(upload_url, member) == chunk + arrived
    assert staged_bytes(app, upload_url) == data[: chunk + arrived]
    wait_until(lambda: not_being_written(app, upload_url))

    # A fresh client (say, after the page reloaded) knows only the URL and asks where to go on.
    resumed = tus.uploader(file_stream=io.BytesIO(data), chunk_size=chunk, url=upload_url)
    assert resumed.offset == chunk + arrived
    finish_upload(resumed)
    assert resumed.offset == len(data)
    clip_id = resumed.request.response_headers["videocoach-clip-id"]
    assert stored_original(app, clip_id) == data


def test_options_advertises_version_extensions_and_max_size(app, uploads_url):
    response = http("OPTIONS", uploads_url)
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    extensions = response.headers["Tus-Extension"].split(",")
    assert {"creation", "creation-with-upload", "termination", "expiration"} <= set(extensions)
    max_size = app.extensions["videocoach.settings"].max_upload_bytes
    assert response.headers["Tus-Max-Size"] == str(max_size)


def test_creation_answers_location_offset_and_a_future_expiry(app, uploads_url, member):
    created = start_upload(uploads_url, member, 1234)
    assert created.status_code == 201
    assert created.headers["Tus-Resumable"] == "1.0.0"
    assert created.headers["Upload-Offset"] == "0"
    assert created.headers["Upload-Length"] == "1234"
    assert parsedate_to_datetime(created.headers["Upload-Expires"]) > utcnow()
    upload_url = created.headers["Location"]
    assert upload_url.startswith(uploads_url + "/")
    assert (staged_bytes(app, upload_url) or b"") == b""
    head = http("HEAD", upload_url, headers={**TUS, **member.auth})
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("0", "1234")
    assert head.headers["Cache-Control"] == "no-store"


def test_creation_with_upload_can_send_the_whole_file_in_the_post(app, uploads_url, member):
    data = os.urandom(5000)
    headers = {
        **TUS,
        **member.auth,
        "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata_header(partnership_id=member.pid, filename="one-shot.mp4"),
        "Content-Type": OFFSET_TYPE,
    }
    created = http("POST", uploads_url, data=data, headers=headers)
    assert created.status_code == 201
    assert created.headers["Upload-Offset"] == str(len(data))
    assert stored_original(app, created.headers["Videocoach-Clip-Id"]) == data


def test_post_without_tus_resumable_is_refused_with_412(app, uploads_url, member):
    before = staged_names(app)
    response = post_creation(uploads_url, member.auth, partnership_id=member.pid)
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    assert staged_names(app) == before


def test_patch_at_the_wrong_offset_is_409_and_keeps_the_upload(app, uploads_url, member):
    upload_url = new_upload(uploads_url, member, 100)
    assert send_patch(upload_url, member, 0, b"a" * 10).status_code == 204
    assert send_patch(upload_url, member, 0, b"b" * 10).status_code == 409
    assert send_patch(upload_url, member, 20, b"c" * 10).status_code == 409
    assert server_offset(upload_url, member) == 10
    assert staged_bytes(app, upload_url) == b"a" * 10


def test_patch_with_the_wrong_content_type_is_415(app, uploads_url, member):
    upload_url = new_upload(uploads_url, member, 100)
    refused = send_patch(upload_url, member, 0, b"x" * 10, **{"Content-Type": "video/mp4"})
    assert refused.status_code == 415
    assert server_offset(upload_url, member) == 0


def test_patch_beyond_upload_length_is_413_and_stores_nothing(app, uploads_url, member):
    upload_url = new_upload(uploads_url, member, 10)
    assert send_patch(upload_url, member, 0, b"x" * 11).status_code == 413
    assert server_offset(upload_url, member) == 0
    assert (staged_bytes(app, upload_url) or b"") == b""


def test_upload_length_over_the_server_limit_is_413(app, make_app, member):
    small = make_app(VIDEOCOACH_MAX_UPLOAD_BYTES="1000")
    with serving(small) as base:
        url = f"{base}/api/v1/uploads"
        assert http("OPTIONS", url).headers["Tus-Max-Size"] == "1000"
        before = staged_names(small)
        assert start_upload(url, member, 1001).status_code == 413
        assert staged_names(small) == before
        assert start_upload(url, member, 1000).status_code == 201


def test_upload_without_partnership_id_is_422(app, uploads_url, member):
    before = staged_names(app)
    response = post_creation(uploads_url, {**TUS, **member.auth}, filename="lesson.mp4")
    assert response.status_code == 422
    assert "partnership_id" in response.json()["error"]["fields"]
    assert staged_names(app) == before


def test_outsider_cannot_upload_into_someone_elses_partnership_and_nothing_is_staged(
    app, uploads_url, member, make_member
):
    outsider = make_member()
    before = staged_names(app)
    response = post_creation(uploads_url, {**TUS, **outsider.auth}, partnership_id=member.pid)
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert staged_names(app) == before


def test_other_users_cannot_see_resume_or_delete_my_upload(app, uploads_url, member, make_member):
    upload_url = new_upload(uploads_url, member, 100)
    assert send_patch(upload_url, member, 0, b"m" * 10).status_code == 204
    other = make_member()
    head = http("HEAD", upload_url, headers={**TUS, **other.auth})
    assert head.status_code == 404
    assert "Upload-Offset" not in head.headers
    assert send_patch(upload_url, other, 10, b"o" * 10).status_code == 404
    assert http("DELETE", upload_url, headers={**TUS, **other.auth}).status_code == 404
    assert server_offset(upload_url, member) == 10
    assert staged_bytes(app, upload_url) == b"m" * 10


def test_termination_deletes_the_upload_and_its_staged_file(app, uploads_url, member):
    upload_url = new_upload(uploads_url, member, 100)
    assert send_patch(upload_url, member, 0, b"t" * 10).status_code == 204
    assert staged_bytes(app, upload_url) == b"t" * 10
    assert http("DELETE", upload_url, headers={**TUS, **member.auth}).status_code == 204
    assert http("HEAD", upload_url, headers={**TUS, **member.auth}).status_code == 404
    assert send_patch(upload_url, member, 10, b"t").status_code == 404
    assert staged_bytes(app, upload_url) is None
    with app.app_context():
        assert db.session.get(Upload, upload_url.rsplit("/", 1)[1]) is None


def test_anonymous_requests_are_401(app, uploads_url, member):
    upload_url = new_upload(uploads_url, member, 100)
    before = staged_names(app)
    bad_token = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
    for credentials in ({}, bad_token):
        created = post_creation(uploads_url, {**TUS, **credentials}, partnership_id=member.pid)
        assert created.status_code == 401
        assert http("HEAD", upload_url, headers={**TUS, **credentials}).status_code == 401
        patched = http(
            "PATCH",
            upload_url,
            data=b"x",
            headers={**TUS, **credentials, "Upload-Offset": "0", "Content-Type": OFFSET_TYPE},
        )
        assert patched.status_code == 401
        assert http("DELETE", upload_url, headers={**TUS, **credentials}).status_code == 401
    assert staged_names(app) == before
    assert server_offset(upload_url, member) == 0


def test_expired_upload_answers_404_and_is_swept_with_its_staged_file(app, uploads_url, member):
    upload_url = new_upload(uploads_url, member, 100)
    assert send_patch(upload_url, member, 0, b"e" * 10).status_code == 204
    kept_url = new_upload(uploads_url, member, 100)
    assert send_patch(kept_url, member, 0, b"k" * 5).status_code == 204
    uid = upload_url.rsplit("/", 1)[1]
    with app.app_context():
        db.session.get(Upload, uid).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()

    assert http("HEAD", upload_url, headers={**TUS, **member.auth}).status_code == 404
    assert send_patch(upload_url, member, 10, b"e" * 10).status_code == 404
    assert staged_bytes(app, upload_url) == b"e" * 10  # expired, not yet swept

    with app.app_context():
        assert sweep_expired() == 1
        assert db.session.get(Upload, uid) is None
    assert staged_bytes(app, upload_url) is None
    assert server_offset(kept_url, member) == 5  # an unexpired upload is left alone
    assert staged_bytes(app, kept_url) == b"k" * 5


def test_connection_reset_mid_patch_leaves_a_consistent_upload_that_resumes(
    app, live_server, uploads_url, member
):
    data = os.urandom(120 * 1024)
    upload_url = new_upload(uploads_url, member, len(data))
    with patch_in_progress(upload_url, member, 0, len(data), data[:30_000]) as sock:
        # The server is reading the body.
        wait_until(lambda: not not_being_written(app, upload_url))
        # An abrupt reset (RST), not an orderly close: unread bytes may be lost.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    wait_until(lambda: not_being_written(app, upload_url))

    offset = server_offset(upload_url, member)
    assert 0 <= offset <= 30_000
    assert (staged_bytes(app, upload_url) or b"") == data[:offset]
    tus = tus_client.TusClient(uploads_url, headers=member.auth)
    resumed = tus.uploader(file_stream=io.BytesIO(data), chunk_size=40_000, url=upload_url)
    assert resumed.offset == offset
    finish_upload(resumed)
    clip_id = resumed.request.response_headers["videocoach-clip-id"]
    assert stored_original(app, clip_id) == data


def test_a_second_patch_while_one_is_writing_is_423_and_changes_nothing(
    app, live_server, uploads_url, member
):
    data = os.urandom(1000)
    upload_url = new_upload(uploads_url, member, len(data))
    with patch_in_progress(upload_url, member, 0, len(data), data[:100]):
        wait_until(lambda: not not_being_written(app, upload_url))
        busy = send_patch(upload_url, member, 0, data)
        assert busy.status_code == 423
    wait_until(lambda: not_being_written(app, upload_url))
    assert server_offset(upload_url, member) == 100
    assert staged_bytes(app, upload_url) == data[:100]


def test_patch_body_sent_with_chunked_transfer_encoding_is_stored(app, uploads_url, member):
    data = os.urandom(3000)
    upload_url = new_upload(uploads_url, member, len(data))
    pieces = (data[i : i + 700] for i in range(0, len(data), 700))
    finished = send_patch(upload_url, member, 0, pieces)  # a generator: no Content-Length
    assert finished.status_code == 204
    assert finished.headers["Upload-Offset"] == str(len(data))
    assert stored_original(app, finished.headers["Videocoach-Clip-Id"]) == data


def test_an_empty_upload_is_refused_with_422(app, uploads_url, member):
    before = staged_names(app)
    response = start_upload(uploads_url, member, 0)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "empty_upload"
    assert staged_names(app) == before


def test_head_without_tus_resumable_is_412(app, uploads_url, member):
    upload_url = new_upload(uploads_url, member, 10)
    response = http("HEAD", upload_url, headers=member.auth)
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"


def test_cheroot_uploads_are_spliced_in_the_kernel(app, member, caplog):
    if stages_in_bucket(app):
        pytest.skip("bodies are spliced into the staged file; with S3 media there is none")
    data = os.urandom(3 * 1024 * 1024 + 123)
    with serving(app, "cheroot") as base:
        upload_url = new_upload(f"{base}/api/v1/uploads", member, len(data))
        with caplog.at_level("INFO", logger="videocoach.clips.uploads"):
            response = send_patch(upload_url, member, 0, data)
    assert response.status_code == 204
    assert f"{len(data)} bytes spliced from the socket" in caplog.text
    clip_id = response.headers["Videocoach-Clip-Id"]
    assert stored_original(app, clip_id) == data


def test_a_large_patch_cut_off_keeps_every_byte_that_arrived(app, live_server, uploads_url, member):
    """Past 8 MiB a PATCH goes to S3 as a multipart upload: cut off, it still keeps what
    arrived, and HEAD answers exactly what is stored."""
    data = os.urandom(12 * 1024 * 1024)
    arrived = 9 * 1024 * 1024 + 12_345
    upload_url = new_upload(uploads_url, member, len(data))
    drop_mid_patch(upload_url, member, 0, len(data), data[:arrived])
    wait_until(lambda: server_offset(upload_url, member) != 0, timeout=30)
    wait_until(lambda: not_being_written(app, upload_url), timeout=30)
    assert server_offset(upload_url, member) == arrived
    assert staged_bytes(app, upload_url) == data[:arrived]

    finished = send_patch(upload_url, member, arrived, data[arrived:])
    assert finished.status_code == 204
    assert stored_original(app, finished.headers["Videocoach-Clip-Id"]) == data
    assert staged_bytes(app, upload_url) is None
