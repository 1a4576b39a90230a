"""The storage interface, proved on both backends: local files and a real S3 HTTP server.

S3 runs against moto's threaded server on 127.0.0.1, so requests, multipart uploads and
presigned URLs go over real HTTP. No database and no app: these tests run once.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import urllib.request
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from tests.conftest import BUCKET, free_port
from videocoach.storage import (
    InvalidKey,
    LocalStorage,
    Storage,
    StorageError,
    StoredObject,
    open_storage,
)
from videocoach.storage.s3 import S3Storage

MiB = 1024 * 1024
INVALID_KEYS = ["../x", "/abs", "a//b", "a/./b", "a b", "a/../b", "", "a/", "ü", "x" * 513]


def small_parts() -> TransferConfig:
    # 5 MiB is S3's smallest part: a ~5 MiB stream then really goes through multipart upload.
    return TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    endpoint = request.getfixturevalue("s3_endpoint")
    # A prefix of its own per test: tests share the bucket but never each other's objects.
    return S3Storage(
        BUCKET,
        f"run/{secrets.token_hex(4)}",
        endpoint_url=endpoint,
        transfer_config=small_parts(),
    )


@pytest.fixture
def s3(s3_endpoint: str) -> S3Storage:
    return S3Storage(
        BUCKET,
        f"run/{secrets.token_hex(4)}",
        endpoint_url=s3_endpoint,
        transfer_config=small_parts(),
    )


class GeneratedStream:
    """A non-seekable stream of pseudo-random bytes, made as it is read (never all in memory).

    Returns short reads of odd sizes, as sockets do; can fail part-way, as clients do.
    """

    def __init__(self, total: int, fail_after: int | None = None):
        self.remaining = total
        self.fail_after = fail_after
        self.sent = 0
        self.digest = hashlib.sha256()
        self._random = random.Random(total)

    def read(self, size: int = -1) -> bytes:
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise ConnectionResetError("client went away")
        n = min(self.remaining, 99_991 if size < 0 else min(size, 99_991))
        data = self._random.randbytes(n)
        self.remaining -= n
        self.sent += n
        self.digest.update(data)
        return data


def read_all(storage: Storage, key: str) -> bytes:
    with storage.open(key) as handle:
        return handle.read()


def fetch(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    return urllib.request.urlopen(request, timeout=10)


def test_put_bytes_records_size_and_sha256_and_reads_back(storage: Storage):
    data = b"poster bytes \x00\xff" * 1000
    stored = storage.put_bytes("clips/abc/poster.jpg", data, "image/jpeg")
    assert stored == StoredObject(
        "clips/abc/poster.jpg", len(data), hashlib.sha256(data).hexdigest()
    )
    assert read_all(storage, "clips/abc/poster.jpg") == data
    assert storage.size("clips/abc/poster.jpg") == len(data)
    assert storage.exists("clips/abc/poster.jpg")


def test_putting_a_key_again_replaces_the_object(storage: Storage):
    storage.put_bytes("clips/abc/waveform.json", b"old, and longer than the new one", "text/plain")
    storage.put_bytes("clips/abc/waveform.json", b"new", "text/plain")
    assert read_all(storage, "clips/abc/waveform.json") == b"new"
    assert storage.size("clips/abc/waveform.json") == 3


def test_put_stream_of_5_mib_is_stored_exactly(storage: Storage):
    stream = GeneratedStream(5 * MiB + 123_457)
    stored = storage.put_stream("clips/abc/original.mp4", stream, "video/mp4")
    assert stored.size == 5 * MiB + 123_457
    assert stored.sha256 == stream.digest.hexdigest()
    digest = hashlib.sha256()
    with storage.open("clips/abc/original.mp4") as handle:
        while chunk := handle.read(MiB):
            digest.update(chunk)
    assert digest.hexdigest() == stored.sha256
    assert storage.size("clips/abc/original.mp4") == stored.size


def test_put_stream_of_an_empty_stream_stores_an_empty_object(storage: Storage):
    stored = storage.put_stream("clips/abc/empty.vtt", GeneratedStream(0), "text/vtt")
    assert stored == StoredObject("clips/abc/empty.vtt", 0, hashlib.sha256(b"").hexdigest())
    assert read_all(storage, "clips/abc/empty.vtt") == b""


@pytest.mark.parametrize("fail_after", [MiB, 6 * MiB])  # before and after the first S3 part
def test_a_stream_that_fails_part_way_leaves_no_object(storage: Storage, fail_after: int):
    with pytest.raises(ConnectionResetError):
        storage.put_stream(
            "clips/abc/original.mp4", GeneratedStream(8 * MiB, fail_after), "video/mp4"
        )
    assert not storage.exists("clips/abc/original.mp4")
    if isinstance(storage, LocalStorage):
        assert [p.name for p in storage.root.rglob("*") if p.is_file()] == []


def test_put_file_copies_and_keeps_the_source(storage: Storage, tmp_path: Path):
    source = tmp_path / "upload.bin"
    source.write_bytes(os.urandom(300_000))
    stored = storage.put_file("clips/abc/original.mov", source, "video/quicktime")
    assert stored.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert stored.size == 300_000
    assert read_all(storage, "clips/abc/original.mov") == source.read_bytes()


def test_put_file_with_move_removes_the_source(storage: Storage, tmp_path: Path):
    source = tmp_path / "staging" / "upload.bin"
    source.parent.mkdir()
    data = os.urandom(200_000)
    source.write_bytes(data)
    stored = storage.put_file("clips/abc/original.mp4", source, "video/mp4", move=True)
    assert not source.exists()
    assert stored == StoredObject(
        "clips/abc/original.mp4", len(data), hashlib.sha256(data).hexdigest()
    )
    assert read_all(storage, "clips/abc/original.mp4") == data


def test_put_file_trusts_a_given_sha256(storage: Storage, tmp_path: Path):
    source = tmp_path / "upload.bin"
    source.write_bytes(b"hashed while it was uploaded")
    stored = storage.put_file("clips/abc/original.mp4", source, "video/mp4", sha256="ab" * 32)
    assert stored.sha256 == "ab" * 32


def test_delete_removes_the_object_and_is_idempotent(storage: Storage):
    storage.put_bytes("clips/abc/poster.jpg", b"x", "image/jpeg")
    storage.delete("clips/abc/poster.jpg")
    assert not storage.exists("clips/abc/poster.jpg")
    storage.delete("clips/abc/poster.jpg")
    storage.delete("clips/never/was.jpg")


def test_missing_objects_raise_file_not_found(storage: Storage, tmp_path: Path):
    assert not storage.exists("clips/none/original.mp4")
    with pytest.raises(FileNotFoundError):
        storage.open("clips/none/original.mp4")
    with pytest.raises(FileNotFoundError):
        storage.size("clips/none/original.mp4")
    with pytest.raises(FileNotFoundError):
        storage.fetch_to("clips/none/original.mp4", tmp_path / "copy.mp4")


def test_a_directory_is_not_an_object(storage: Storage):
    storage.put_bytes("clips/abc/poster.jpg", b"x", "image/jpeg")
    assert not storage.exists("clips/abc")
    with pytest.raises(FileNotFoundError):
        storage.open("clips/abc")
    storage.delete("clips/abc")
    assert storage.exists("clips/abc/poster.jpg")


def test_delete_prefix_removes_only_that_prefix(storage: Storage):
    for key in [
        "clips/1/original.mp4",
        "clips/1/playable.mp4",
        "clips/1/frames/0001.jpg",
        "clips/1/frames/0002.jpg",
        "clips/10/original.mp4",
        "clips/1.txt",
        "other/1/original.mp4",
    ]:
        storage.put_bytes(key, key.encode(), "application/octet-stream")
    assert storage.delete_prefix("clips/1/") == 4
    for key in ["clips/1/original.mp4", "clips/1/frames/0001.jpg"]:
        assert not storage.exists(key)
    for key in ["clips/10/original.mp4", "clips/1.txt", "other/1/original.mp4"]:
        assert read_all(storage, key) == key.encode()
    assert storage.delete_prefix("clips/1/") == 0
    assert storage.delete_prefix("clips/10") == 1  # a prefix always names a directory


def test_delete_prefix_deletes_more_than_one_batch(s3: S3Storage, monkeypatch):
    monkeypatch.setattr("videocoach.storage.s3.DELETE_BATCH", 3)
    for n in range(7):
        s3.put_bytes(f"clips/many/{n}.jpg", b"x", "image/jpeg")
    assert s3.delete_prefix("clips/many") == 7
    assert not any(s3.exists(f"clips/many/{n}.jpg") for n in range(7))


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_keys_are_rejected(storage: Storage, key: str, tmp_path: Path):
    with pytest.raises(InvalidKey):
        storage.put_bytes(key, b"x", "text/plain")
    with pytest.raises(InvalidKey):
        storage.put_stream(key, GeneratedStream(10), "text/plain")
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(InvalidKey):
        storage.put_file(key, source, "text/plain", move=True)
    assert source.exists()
    for method in (storage.open, storage.exists, storage.size, storage.delete, storage.local_path):
        with pytest.raises(InvalidKey):
            method(key)
    with pytest.raises(InvalidKey):
        storage.presigned_url(key)
    with pytest.raises(InvalidKey):
        storage.fetch_to(key, tmp_path / "copy")


@pytest.mark.parametrize("prefix", ["", "/", "../", "a//", "/clips/1/"])
def test_invalid_prefixes_are_rejected(storage: Storage, prefix: str):
    with pytest.raises(InvalidKey):
        storage.delete_prefix(prefix)


def test_local_storage_never_follows_a_symlink_out_of_its_root(tmp_path: Path):
    storage = LocalStorage(tmp_path / "media")
    outside = tmp_path / "outside"
    outside.mkdir()
    storage.root.mkdir()
    (storage.root / "clips").symlink_to(outside)
    with pytest.raises(InvalidKey):
        storage.put_bytes("clips/abc/poster.jpg", b"x", "image/jpeg")
    assert list(outside.iterdir()) == []


def test_fetch_to_makes_a_local_copy(storage: Storage, tmp_path: Path):
    data = os.urandom(50_000)
    storage.put_bytes("clips/abc/original.mp4", data, "video/mp4")
    target = tmp_path / "work" / "input.mp4"
    target.parent.mkdir()
    target.write_bytes(b"stale file from an earlier attempt")
    assert storage.fetch_to("clips/abc/original.mp4", target) == target
    assert target.read_bytes() == data


def test_local_path_is_the_real_file_locally_and_none_on_s3(storage: Storage):
    storage.put_bytes("clips/abc/original.mp4", b"frames", "video/mp4")
    path = storage.local_path("clips/abc/original.mp4")
    if isinstance(storage, LocalStorage):
        assert path == storage.root / "clips/abc/original.mp4"
        assert path.read_bytes() == b"frames"
    else:
        assert path is None


def test_s3_objects_live_under_the_prefix_with_their_content_type(s3: S3Storage):
    s3.put_bytes("clips/abc/poster.jpg", b"jpeg", "image/jpeg")
    s3.put_stream("clips/abc/original.mp4", GeneratedStream(1000), "video/mp4")
    raw = boto3.client("s3", endpoint_url=s3.endpoint_url)
    for key, content_type in [
        ("clips/abc/poster.jpg", "image/jpeg"),
        ("clips/abc/original.mp4", "video/mp4"),
    ]:
        head = raw.head_object(Bucket=BUCKET, Key=s3.prefix + key)
        assert head["ContentType"] == content_type
    assert s3.prefix.startswith("run/") and s3.prefix.endswith("/")


def test_presigned_url_serves_the_object_privately(storage: Storage):
    data = os.urandom(10_000)
    storage.put_bytes("clips/abc/playable.mp4", data, "application/octet-stream")
    url = storage.presigned_url("clips/abc/playable.mp4", expires_s=120, content_type="video/mp4")
    if isinstance(storage, LocalStorage):
        assert url is None
        return
    with fetch(url) as response:
        assert response.status == 200
        assert response.read() == data
        assert response.headers["Content-Type"] == "video/mp4"
        assert response.headers["Cache-Control"] == "private, max-age=120"
        assert response.headers.get("Content-Disposition") is None


def test_presigned_url_supports_range_requests(s3: S3Storage):
    data = os.urandom(10_000)
    s3.put_bytes("clips/abc/playable.mp4", data, "video/mp4")
    url = s3.presigned_url("clips/abc/playable.mp4", content_type="video/mp4")
    with fetch(url, {"Range": "bytes=1000-1999"}) as response:
        assert response.status == 206
        assert response.read() == data[1000:2000]
        assert response.headers["Content-Range"] == "bytes 1000-1999/10000"


def test_presigned_url_with_download_name_is_an_attachment(s3: S3Storage):
    s3.put_bytes("clips/abc/original.mp4", b"movie", "video/mp4")
    url = s3.presigned_url(
        "clips/abc/original.mp4", content_type="video/mp4", download_name='Année 3 "maths".mp4'
    )
    with fetch(url) as response:
        disposition = response.headers["Content-Disposition"]
        assert response.read() == b"movie"
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Ann%C3%A9e%203%20%22maths%22.mp4" in disposition


def test_check_passes_on_a_usable_backend(storage: Storage):
    storage.check()


def test_check_fails_for_an_unwritable_local_directory(tmp_path: Path):
    (tmp_path / "media").write_text("a file where the directory should be")
    with pytest.raises(StorageError, match="not writable"):
        LocalStorage(tmp_path / "media").check()


def test_check_fails_for_a_missing_bucket(s3_endpoint: str):
    with pytest.raises(StorageError, match="no-such-bucket"):
        S3Storage("no-such-bucket", endpoint_url=s3_endpoint).check()


def test_unreachable_s3_is_a_storage_error(s3_endpoint: str):
    storage = S3Storage(BUCKET, endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageError):
        storage.check()
    with pytest.raises(StorageError):
        storage.open("clips/abc/original.mp4")
    with pytest.raises(StorageError):
        storage.put_bytes("clips/abc/poster.jpg", b"x", "image/jpeg")


def test_open_storage_understands_file_urls(tmp_path: Path):
    storage = open_storage(f"file://{tmp_path}/media")
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "media"


def test_open_storage_understands_s3_urls():
    storage = open_storage(
        "s3://media-bucket/videocoach/prod/", endpoint_url="http://minio:9000", region="eu-west-3"
    )
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == ("media-bucket", "videocoach/prod/")
    assert (storage.endpoint_url, storage.region) == ("http://minio:9000", "eu-west-3")
    bare = open_storage("s3://media-bucket")
    assert (bare.bucket, bare.prefix) == ("media-bucket", "")


@pytest.mark.parametrize(
    "url",
    ["ftp://x", "file://relative/dir", "s3://", "s3:///prefix", "s3://bucket/../up", "/srv/media"],
)
def test_open_storage_rejects_other_urls_naming_the_setting(url: str):
    with pytest.raises(ValueError, match="VIDEOCOACH_STORAGE"):
        open_storage(url)


def test_media_origin_needs_no_credentials(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    storage = S3Storage(BUCKET, endpoint_url="https://minio.school.example:9000")
    assert storage.media_origin() == "https://minio.school.example:9000"
    assert S3Storage(BUCKET).media_origin() == "https://*.amazonaws.com"


def _put_parts(storage: Storage, sizes: list[int]) -> tuple[list[StoredObject], bytes]:
    pieces = [os.urandom(size) for size in sizes]
    parts = [
        storage.put_bytes(f"tus-staging/u/{number:03d}", piece, "application/octet-stream")
        for number, piece in enumerate(pieces)
    ]
    return parts, b"".join(pieces)


def test_put_concatenation_of_small_parts_stores_them_in_order_with_their_sha256(
    storage: Storage,
):
    parts, whole = _put_parts(storage, [3, 70_000, 1, 5000])
    stored = storage.put_concatenation("clips/c/original", parts, "video/mp4")
    assert (stored.size, stored.sha256) == (len(whole), hashlib.sha256(whole).hexdigest())
    assert read_all(storage, "clips/c/original") == whole
    assert all(storage.exists(part.key) for part in parts)  # the parts stay


def test_put_concatenation_of_large_parts_is_copied_inside_s3(s3: S3Storage, monkeypatch):
    parts, whole = _put_parts(s3, [5 * MiB, 6 * MiB + 7, 12])
    monkeypatch.setattr(s3, "open", None)  # not one byte read back through this process
    stored = s3.put_concatenation("clips/c/original", parts, "video/mp4")
    monkeypatch.undo()
    assert (stored.size, stored.sha256) == (len(whole), None)  # the worker will hash it
    assert read_all(s3, "clips/c/original") == whole
    head = s3.client.head_object(Bucket=BUCKET, Key=s3.prefix + "clips/c/original")
    assert head["ContentType"] == "video/mp4"


def test_delete_prefix_on_s3_aborts_unfinished_multipart_uploads_under_it(s3: S3Storage):
    """What a web process killed mid-PATCH leaves: parts no listing of objects shows."""
    client = s3.client
    started = {}
    for key in ("tus-staging/u/0-a", "tus-staging/other/0-b"):
        upload_id = client.create_multipart_upload(Bucket=BUCKET, Key=s3.prefix + key)["UploadId"]
        client.upload_part(
            Bucket=BUCKET, Key=s3.prefix + key, UploadId=upload_id, PartNumber=1, Body=b"x" * 100
        )
        started[key] = upload_id

    s3.delete_prefix("tus-staging/u/")

    left = client.list_multipart_uploads(Bucket=BUCKET, Prefix=s3.prefix).get("Uploads", [])
    assert [item["Key"] for item in left] == [s3.prefix + "tus-staging/other/0-b"]
