"""Objects in an S3 bucket (AWS or any S3-compatible service), through boto3.

Credentials are the key pair from the settings (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
each possibly read from a *_FILE) or else boto3's default chain (profiles, instance roles);
the endpoint (S3_ENDPOINT_URL) and region are handed in by whoever opens the storage.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
)

from videocoach.storage.base import (
    HashingReader,
    ListedObject,
    Storage,
    StorageError,
    StoredObject,
    validate_key,
    validate_prefix,
)

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DELETE_BATCH = 1000  # the most keys one DeleteObjects request accepts
# S3's limits on a multipart upload: every part but the last at least 5 MiB, none over
# 5 GiB, at most 10,000 of them.
MIN_PART = 5 * MiB
MAX_PART = 5 * 1024 * MiB
MAX_PARTS = 10_000

_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_TRANSIENT_CODES = {
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "NoSuchBucket",  # a bucket being (re)created or misconfigured: not the caller's fault
}
_NETWORK_ERRORS = (ConnectionError, HTTPClientError, IncompleteReadError)


def default_transfer_config() -> TransferConfig:
    config = TransferConfig(
        multipart_threshold=8 * MiB,
        multipart_chunksize=8 * MiB,  # 10,000 parts of 8 MiB: objects up to 80 GB
        max_concurrency=4,
        use_threads=True,
        preferred_transfer_client="classic",  # predictable memory use, with or without awscrt
    )
    # A non-seekable stream is buffered a whole part at a time: this caps it at 4 parts.
    config.max_in_memory_upload_chunks = 4
    return config


def attachment_disposition(download_name: str) -> str:
    """A Content-Disposition that makes browsers save the file as `download_name`."""
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", download_name).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(download_name, safe='')}"


def _translated(error: Exception, key: str | None) -> Exception | None:
    """The interface's exception for a boto error, or None to let it propagate as is."""
    if isinstance(error, S3UploadFailedError):
        # boto3 re-raises a ClientError from an upload as this, with the original as context.
        cause = error.__context__
        if isinstance(cause, ClientError):
            return _translated(cause, key) or StorageError(str(error))
        return StorageError(str(error))
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in _NOT_FOUND_CODES:
            return FileNotFoundError(errno.ENOENT, "No such stored object", key)
        if status >= 500 or code in _TRANSIENT_CODES:
            return StorageError(f"S3 error {code or status}: {error}")
        return None
    if isinstance(error, _NETWORK_ERRORS):
        return StorageError(f"S3 is unreachable: {error}")
    return None


@contextlib.contextmanager
def _s3_errors(key: str | None = None) -> Iterator[None]:
    try:
        yield
    except (ClientError, S3UploadFailedError, BotoCoreError) as error:
        translated = _translated(error, key)
        if translated is None:
            raise
        raise translated from error


class S3Storage(Storage):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        transfer_config: TransferConfig | None = None,
        credentials: tuple[str, str, str | None] | None = None,
    ):
        if not bucket:
            raise ValueError("An S3 storage needs a bucket name.")
        self.bucket = bucket
        # Stored with one trailing slash so full keys are simply prefix + key.
        self.prefix = validate_prefix(prefix.strip("/")) if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or None
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.transfer_config = transfer_config or default_transfer_config()
        # (key id, secret, session token) from the settings, which may read them from files;
        # None: boto3's default chain.
        self._credentials = credentials
        self._client: Any = None
        self._client_pid: int | None = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use in each process.

        Clients are thread-safe but must not cross a fork (gunicorn and Celery prefork
        workers): the children would share the parent's connection pool.
        """
        if self._client is None or self._client_pid != os.getpid():
            with self._client_lock:
                if self._client is None or self._client_pid != os.getpid():
                    self._client = self._make_client()
                    self._client_pid = os.getpid()
        return self._client

    def _make_client(self) -> Any:
        config = Config(
            signature_version="s3v4",
            # S3-compatible services (MinIO, moto, Ceph) rarely have bucket subdomains.
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        session = boto3.session.Session()  # the default session is not thread-safe
        keys = {}
        if self._credentials:
            key_id, secret, token = self._credentials
            keys = {
                "aws_access_key_id": key_id,
                "aws_secret_access_key": secret,
                "aws_session_token": token,
            }
        return session.client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config, **keys
        )

    def _full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _store_file(self, key: str, source: Path, content_type: str, *, move: bool) -> None:
        with _s3_errors(key):
            self.client.upload_file(
                str(source),
                self.bucket,
                self._full(key),
                ExtraArgs={"ContentType": content_type},
                Config=self.transfer_config,
            )
        if move:
            source.unlink()

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        full = self._full(key)
        with _s3_errors(key):
            self.client.put_object(
                Bucket=self.bucket, Key=full, Body=data, ContentType=content_type
            )
        return StoredObject(key, len(data), hashlib.sha256(data).hexdigest())

    def put_stream(self, key: str, stream: BinaryIO, content_type: str) -> StoredObject:
        full = self._full(key)
        reader = HashingReader(stream)
        with _s3_errors(key):
            self.client.upload_fileobj(
                reader,
                self.bucket,
                full,
                ExtraArgs={"ContentType": content_type},
                Config=self.transfer_config,
            )
        return StoredObject(key, reader.size, reader.hexdigest())

    def put_concatenation(
        self, key: str, parts: Sequence[StoredObject], content_type: str
    ) -> StoredObject:
        """Inside S3 (a multipart upload whose parts are copied from `parts`) when S3's
        part sizes allow it, as the browser's 16 MiB PATCHes do: no byte passes through
        this process, so there is no sha256 (the worker records it, reading the file
        anyway). Otherwise through this process, like the other backends."""
        sizes = [part.size for part in parts]
        if (
            not parts
            or len(parts) > MAX_PARTS
            or any(size < MIN_PART for size in sizes[:-1])
            or any(size > MAX_PART for size in sizes)
        ):
            return super().put_concatenation(key, parts, content_type)
        full = self._full(key)
        with _s3_errors(key):
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=full, ContentType=content_type
            )["UploadId"]
            try:
                with ThreadPoolExecutor(self.transfer_config.max_request_concurrency) as pool:
                    etags = list(
                        pool.map(
                            lambda numbered: self._copy_part(full, upload_id, *numbered),
                            enumerate((part.key for part in parts), start=1),
                        )
                    )
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    MultipartUpload={
                        "Parts": [
                            {"PartNumber": number, "ETag": etag}
                            for number, etag in enumerate(etags, start=1)
                        ]
                    },
                )
            except BaseException:
                with contextlib.suppress(ClientError, BotoCoreError):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=full, UploadId=upload_id
                    )
                raise
        return StoredObject(key, sum(sizes), None)

    def _copy_part(self, full: str, upload_id: str, number: int, source: str) -> str:
        copied = self.client.upload_part_copy(
            Bucket=self.bucket,
            Key=full,
            UploadId=upload_id,
            PartNumber=number,
            CopySource={"Bucket": self.bucket, "Key": self._full(source)},
        )
        return str(copied["CopyPartResult"]["ETag"])

    def open(self, key: str) -> BinaryIO:
        full = self._full(key)
        with _s3_errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=full)
        return response["Body"]

    def local_path(self, key: str) -> Path | None:
        validate_key(key)
        return None

    def fetch_to(self, key: str, path: Path) -> Path:
        full = self._full(key)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with _s3_errors(key):
            # Downloads into a temporary name beside `target`, then renames it.
            self.client.download_file(self.bucket, full, str(target), Config=self.transfer_config)
        return target

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        full = self._full(key)
        with _s3_errors(key):
            response = self.client.head_object(Bucket=self.bucket, Key=full)
        return int(response["ContentLength"])

    def delete(self, key: str) -> None:
        full = self._full(key)
        with _s3_errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=full)

    def delete_prefix(self, prefix: str) -> int:
        full_prefix = self.prefix + validate_prefix(prefix)
        deleted = 0
        batch: list[dict[str, str]] = []
        with _s3_errors():
            # Continuation tokens resume after the last listed key, so deleting what has
            # been listed does not disturb the listing.
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full_prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    batch.append({"Key": item["Key"]})
                    if len(batch) == DELETE_BATCH:
                        deleted += self._delete_batch(batch)
                        batch = []
            if batch:
                deleted += self._delete_batch(batch)
            self._abort_multipart_uploads(full_prefix)
        return deleted

    def _abort_multipart_uploads(self, full_prefix: str) -> None:
        """Unfinished multipart uploads under the prefix (a web process killed while it
        stored a large tus PATCH) hold storage no listing shows: abort them too."""
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=full_prefix
            )
            for page in pages:
                for unfinished in page.get("Uploads", []):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=unfinished["Key"], UploadId=unfinished["UploadId"]
                    )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code not in {"AccessDenied", "NotImplemented"}:
                raise
            # A key without s3:ListBucketMultipartUploads, or a service without the call:
            # the bucket's lifecycle rule (docs/configuration.md) removes them instead.
            log.warning("unfinished multipart uploads under %s left: %s", full_prefix, error)

    def _delete_batch(self, batch: list[dict[str, str]]) -> int:
        response = self.client.delete_objects(
            Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
        )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageError(
                f"{len(errors)} of {len(batch)} objects could not be deleted; first: "
                f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
            )
        return len(batch)

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        full_prefix = self.prefix + validate_prefix(prefix)
        with _s3_errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full_prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield ListedObject(
                        item["Key"].removeprefix(self.prefix),
                        int(item["Size"]),
                        item["LastModified"].astimezone(UTC),
                    )

    def presigned_url(
        self,
        key: str,
        *,
        expires_s: int = 300,
        content_type: str | None = None,
        download_name: str | None = None,
    ) -> str | None:
        params = {
            "Bucket": self.bucket,
            "Key": self._full(key),
            # The URL is a bearer credential for one person: no shared caches.
            "ResponseCacheControl": f"private, max-age={expires_s}",
        }
        if content_type:
            params["ResponseContentType"] = content_type
        if download_name:
            params["ResponseContentDisposition"] = attachment_disposition(download_name)
        # Signing is local: no request is made here.
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)

    def media_origin(self) -> str | None:
        try:
            parts = urlsplit(self.presigned_url("origin-probe") or "")
        except BotoCoreError:  # no credentials yet: the configured endpoint, or AWS's hosts
            if self.endpoint_url:
                parts = urlsplit(self.endpoint_url)
            else:
                return "https://*.amazonaws.com"
        return f"{parts.scheme}://{parts.netloc}"

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"The S3 bucket {self.bucket!r} is not usable: {error}") from error
