"""Local files under one root directory (the embedded default: <data dir>/media)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from videocoach.storage.base import (
    InvalidKey,
    ListedObject,
    Storage,
    StorageError,
    StoredObject,
    iter_chunks,
    validate_key,
    validate_prefix,
)

# "~" is not allowed in keys, so a staging file can never be mistaken for an object.
TEMP_PREFIX = "~tmp-"


class LocalStorage(Storage):
    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # Valid keys cannot climb out of the root; this also refuses a symlink that would.
        if not path.resolve().is_relative_to(self.root):
            raise InvalidKey(f"Storage key {key!r} resolves outside the media directory.")
        return path

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(errno.ENOENT, "No such stored object", key)
        return path

    @contextlib.contextmanager
    def _staging(self, key: str) -> Iterator[tuple[Path, Path]]:
        """Yield (staging file, destination); on success the staging file replaces the
        destination in one rename, so readers never see a half-written object."""
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=TEMP_PREFIX)
        os.close(fd)
        staging = Path(name)
        try:
            yield staging, dest
            os.replace(staging, dest)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise

    def _store_file(self, key: str, source: Path, content_type: str, *, move: bool) -> None:
        if move:
            dest = self._path(key)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, dest)
                return
            except OSError as error:
                if error.errno != errno.EXDEV:  # only "different filesystem" falls back to a copy
                    raise
        with self._staging(key) as (staging, _):
            shutil.copyfile(source, staging)
        if move:
            source.unlink()

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        with self._staging(key) as (staging, _):
            staging.write_bytes(data)
        return StoredObject(key, len(data), hashlib.sha256(data).hexdigest())

    def put_stream(self, key: str, stream: BinaryIO, content_type: str) -> StoredObject:
        digest = hashlib.sha256()
        size = 0
        with self._staging(key) as (staging, _), open(staging, "wb") as handle:
            for chunk in iter_chunks(stream):
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        return StoredObject(key, size, digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        return open(self._existing(key), "rb")

    def local_path(self, key: str) -> Path | None:
        return self._existing(key)

    def fetch_to(self, key: str, path: Path) -> Path:
        source = self._existing(key)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            # Objects are only ever replaced, never rewritten in place, so a link is a
            # stable copy that costs nothing.
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        return target

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    def delete(self, key: str) -> None:
        # A directory is not an object: like S3, "deleting" one is a no-op.
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            self._path(key).unlink()

    def delete_prefix(self, prefix: str) -> int:
        directory = self._path(validate_prefix(prefix).rstrip("/"))
        if not directory.is_dir() or directory.is_symlink():
            return 0
        deleted = 0
        for dirpath, dirnames, filenames in os.walk(directory, topdown=False):
            for name in filenames:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(dirpath, name))
                    deleted += not name.startswith(TEMP_PREFIX)
            for name in dirnames:
                with contextlib.suppress(OSError):  # a concurrent write may have refilled it
                    os.rmdir(os.path.join(dirpath, name))
        with contextlib.suppress(OSError):
            directory.rmdir()
        return deleted

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        directory = self._path(validate_prefix(prefix).rstrip("/"))
        if not directory.is_dir() or directory.is_symlink():
            return
        for dirpath, _dirnames, filenames in os.walk(directory):
            for name in filenames:
                path = Path(dirpath) / name
                key = str(path.relative_to(self.root))
                try:
                    validate_key(key)  # staging files ("~tmp-") and strays are not objects
                    info = path.stat()
                except (InvalidKey, FileNotFoundError):
                    continue
                yield ListedObject(key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))

    def presigned_url(
        self,
        key: str,
        *,
        expires_s: int = 300,
        content_type: str | None = None,
        download_name: str | None = None,
    ) -> str | None:
        validate_key(key)
        return None  # the app serves local files itself, with Range support

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=TEMP_PREFIX):
                pass
        except OSError as error:
            raise StorageError(
                f"The media directory {self.root} is not writable: {error}"
            ) from error
