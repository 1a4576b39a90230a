"""The storage interface: opaque keys, whole objects, size and checksum recorded on write.

Pure Python, no Flask: the web app, the workers and the CLI all open a Storage the same way.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

# Large enough to make per-call overhead negligible, small enough that a stream of any
# size is copied in bounded memory.
CHUNK_SIZE = 1024 * 1024
MAX_KEY_LENGTH = 512

_SEGMENT = r"[A-Za-z0-9._-]+"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str | None  # hex digest, computed while writing


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    modified_at: datetime  # aware, UTC


class StorageError(Exception):
    """A transient backend fault (network, S3 5xx, unusable directory): callers may retry."""


class InvalidKey(ValueError):
    """A key that is not a relative path of `[A-Za-z0-9._-]` segments."""


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative key, else raise InvalidKey.

    The one place that decides what a key may look like: no leading slash, no empty, `.`
    or `..` segments, nothing outside `[A-Za-z0-9._-]`. That is what keeps the local
    backend inside its root and makes keys mean the same thing on every backend.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("A storage key must be a non-empty string.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"A storage key must be at most {MAX_KEY_LENGTH} characters long.")
    if not _KEY.fullmatch(key):
        raise InvalidKey(
            f"Invalid storage key {key!r}: use '/'-separated segments of letters, "
            "digits, '.', '_' and '-', with no leading slash and no empty segments."
        )
    if any(segment in {".", ".."} for segment in key.split("/")):
        raise InvalidKey(f"Invalid storage key {key!r}: '.' and '..' segments are not allowed.")
    return key


def validate_prefix(prefix: str) -> str:
    """A prefix is a key naming a "directory"; returned with exactly one trailing slash.

    Always treating it as a directory means `clips/1` never matches `clips/10/...`, on
    either backend, and an empty prefix (everything) cannot be deleted by accident.
    """
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix if prefix.endswith("/") else prefix + "/"


def iter_chunks(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter_chunks(handle):
            digest.update(chunk)
    return digest.hexdigest()


class HashingReader:
    """Wraps a stream, hashing and counting the bytes as they are read.

    Deliberately exposes only `read()`: boto3 then treats it as non-seekable and reads it
    strictly in order, so the digest is the digest of what was uploaded. `read(n)` keeps
    reading until it has n bytes or the stream ends, because boto3 takes a short read for
    the end of the stream, and sockets and WSGI input streams do return short reads.
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = b"".join(iter_chunks(self._stream))
        else:
            parts: list[bytes] = []
            wanted = size
            while wanted > 0 and (part := self._stream.read(wanted)):
                parts.append(part)
                wanted -= len(part)
            data = b"".join(parts)
        self._digest.update(data)
        self.size += len(data)
        return data

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class ConcatenatedReader:
    """The objects `keys` of `storage`, one after another, as one stream opened one object
    at a time. Holds the storage itself: boto3 reads it from a thread of its own, outside
    any app context."""

    def __init__(self, storage: Storage, keys: Sequence[str]):
        self._storage = storage
        self._keys = iter(keys)
        self._current: BinaryIO | None = None

    def read(self, size: int = -1) -> bytes:
        while True:
            if self._current is None:
                key = next(self._keys, None)
                if key is None:
                    return b""
                self._current = self._storage.open(key)
            data = self._current.read(size)
            if data:
                return data
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


class Storage(ABC):
    """Whole objects under opaque keys (`clips/<uuid>/...`); never user file names."""

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str,
        *,
        move: bool = False,
        sha256: str | None = None,
        checksum: bool = True,
    ) -> StoredObject:
        """Store the file at `path`. With `move=True` the source is gone afterwards (the
        local backend renames it when it can, which costs nothing); a given `sha256` is
        trusted, not recomputed; `checksum=False` skips hashing (sha256 is then None) where
        reading a large file again would slow the caller down."""
        validate_key(key)
        source = Path(path)
        digest = sha256 or (file_sha256(source) if checksum else None)
        size = source.stat().st_size
        self._store_file(key, source, content_type, move=move)
        return StoredObject(key, size, digest)

    @abstractmethod
    def _store_file(self, key: str, source: Path, content_type: str, *, move: bool) -> None:
        """Put the file's bytes under `key` (moving it when `move` is set)."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Store small in-memory data (posters, VTT files, waveforms)."""

    @abstractmethod
    def put_stream(self, key: str, stream: BinaryIO, content_type: str) -> StoredObject:
        """Store everything read from `stream`, in bounded memory, hashing as it goes."""

    def put_concatenation(
        self, key: str, parts: Sequence[StoredObject], content_type: str
    ) -> StoredObject:
        """Store the objects `parts`, one after another, as the one object `key` (the
        pieces of a resumable upload become its original); the parts stay. This default
        reads them through this process, hashing as it goes."""
        reader = ConcatenatedReader(self, [part.key for part in parts])
        try:
            return self.put_stream(key, reader, content_type)  # type: ignore[arg-type]
        finally:
            reader.close()

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary file object; FileNotFoundError if there is no such object."""

    @abstractmethod
    def local_path(self, key: str) -> Path | None:
        """The real file behind `key` (for ffmpeg or send_file), or None if the backend
        has no local files (S3). FileNotFoundError if the object is missing."""

    @abstractmethod
    def fetch_to(self, key: str, path: Path) -> Path:
        """Put a local copy of the object at `path` (replacing any file there) and return
        it. Treat the copy as read-only: the local backend may hard-link it."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes; FileNotFoundError if there is no such object."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` (a directory, e.g. `clips/<id>/`); return how
        many were deleted."""

    @abstractmethod
    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Every object under `prefix` (a directory, e.g. `clips/`), in no set order. For
        housekeeping (`videocoach reconcile` looks for objects no clip owns), not serving."""

    @abstractmethod
    def presigned_url(
        self,
        key: str,
        *,
        expires_s: int = 300,
        content_type: str | None = None,
        download_name: str | None = None,
    ) -> str | None:
        """A short-lived URL the browser can GET directly, or None when the app must serve
        the bytes itself (local backend)."""

    def media_origin(self) -> str | None:
        """Where browsers fetch presigned media from (for the Content-Security-Policy)."""
        return None

    @abstractmethod
    def check(self) -> None:
        """Readiness probe: raise StorageError if the backend cannot be used."""
