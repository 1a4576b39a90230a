"""Where clip media lives: one interface (base.Storage), local files or S3 behind it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from videocoach.storage.base import (
    InvalidKey,
    Storage,
    StorageError,
    StoredObject,
    validate_key,
    validate_prefix,
)
from videocoach.storage.local import LocalStorage

STORAGE_KEY = "videocoach.storage"

__all__ = [
    "InvalidKey",
    "LocalStorage",
    "Storage",
    "StorageError",
    "StoredObject",
    "current_storage",
    "open_storage",
    "validate_key",
    "validate_prefix",
]


def open_storage(
    url: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    credentials: tuple[str, str, str | None] | None = None,
) -> Storage:
    """The storage named by VIDEOCOACH_STORAGE: `file:///abs/dir` or `s3://bucket/prefix`."""
    if url.startswith("file://"):
        path = url.removeprefix("file://")
        if path.startswith("localhost/"):
            path = path.removeprefix("localhost")
        if not path.startswith("/"):
            raise ValueError(
                f"VIDEOCOACH_STORAGE={url!r} must name an absolute directory, "
                "like file:///srv/videocoach/media."
            )
        return LocalStorage(Path(path))
    if url.startswith("s3://"):
        parts = urlsplit(url)
        if not parts.netloc or parts.query or parts.fragment:
            raise ValueError(
                f"VIDEOCOACH_STORAGE={url!r} must look like s3://bucket or s3://bucket/prefix."
            )
        prefix = parts.path.strip("/")
        if prefix:
            try:
                validate_prefix(prefix)
            except InvalidKey as error:
                raise ValueError(
                    f"VIDEOCOACH_STORAGE={url!r} has an unusable prefix: {error}"
                ) from error
        # Imported here so the embedded default never spends start-up time importing boto3.
        from videocoach.storage.s3 import S3Storage

        return S3Storage(
            parts.netloc, prefix, endpoint_url=endpoint_url, region=region, credentials=credentials
        )
    raise ValueError(
        f"VIDEOCOACH_STORAGE={url!r} is not a storage URL videocoach understands: "
        "use file:///absolute/directory or s3://bucket/optional/prefix."
    )


def current_storage() -> Storage:
    """The app's storage (opened once by the app factory from VIDEOCOACH_STORAGE)."""
    return current_app.extensions[STORAGE_KEY]
