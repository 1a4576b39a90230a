"""`videocoach storage migrate --to s3://BUCKET[/PREFIX]`: local media to object storage.

Every object under `clips/` in the configured local storage is copied to the bucket, through
the same settings the S3 storage itself uses (S3_ENDPOINT_URL, the AWS_* key), so what works
here works for the service after the switch. Each copy is checked: its size as the bucket
reports it and, where the database records a SHA-256 (originals), the digest of the bytes
read back from the bucket. A copy that fails the check is deleted from the bucket again, so
it is never mistaken for a good one.

Resumable: an object already in the bucket with the same size is skipped. S3 shows an object
only once it is complete (a put, or a multipart upload once it is finished), so a run
interrupted anywhere leaves whole objects or none, and running it again copies the rest.

The source is never changed; switching over is one setting (Migrated.settings_to_set), and
the local files stay until the operator deletes them.

No rule of access.py applies: the service's own bytes move between its own stores under
their opaque keys, and only keys and sizes are printed or logged, never content.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from videocoach import db
from videocoach.clips import files
from videocoach.clips.models import ClipAsset
from videocoach.config import current_settings
from videocoach.errors import Conflict, Invalid
from videocoach.storage import LocalStorage, Storage, current_storage, open_storage
from videocoach.storage.base import ListedObject, iter_chunks

log = logging.getLogger(__name__)

UNKNOWN_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Recorded:
    """What the database knows of a stored object."""

    content_type: str
    sha256: str | None


@dataclass
class Migrated:
    """The running tally of a migration; complete once migrate() returns."""

    target_url: str
    source_root: Path
    endpoint_url: str | None  # S3_ENDPOINT_URL, which the service keeps using
    total: int = 0
    total_bytes: int = 0
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0  # in the bucket already, with the same size
    skipped_bytes: int = 0
    gone: int = 0  # deleted locally (a clip was deleted) after the listing
    checksums_verified: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.copied + self.skipped + self.gone + len(self.problems)

    @property
    def done_bytes(self) -> int:
        return self.copied_bytes + self.skipped_bytes

    def settings_to_set(self) -> dict[str, str]:
        """The settings that switch the service to the bucket (the endpoint and the key
        stay as this run used them)."""
        return {"VIDEOCOACH_STORAGE": self.target_url}


@dataclass(frozen=True)
class Step:
    """One object dealt with: what happened to it, and the tally so far."""

    key: str
    size: int
    outcome: str  # "copied" | "skipped" | "gone" | "failed"
    tally: Migrated


def open_target(url: str) -> Storage:
    """The bucket named by `url`, opened with the service's S3 settings; Invalid with a
    sentence when `url` is not an S3 URL videocoach can use."""
    if not url.startswith("s3://"):
        raise Invalid(
            f"--to {url!r} is not an S3 bucket: give it as s3://bucket or s3://bucket/prefix "
            "(the endpoint and key come from S3_ENDPOINT_URL and AWS_*, as for the service)."
        )
    settings = current_settings()
    try:
        return open_storage(
            url, endpoint_url=settings.s3_endpoint_url, credentials=settings.s3_credentials
        )
    except ValueError as error:
        # open_storage's sentence names the setting; here the URL came from --to.
        raise Invalid(str(error).replace("VIDEOCOACH_STORAGE=", "--to ", 1)) from None


def local_source() -> LocalStorage:
    """The configured storage, which must be local files; Conflict otherwise."""
    storage = current_storage()
    if not isinstance(storage, LocalStorage):
        raise Conflict(
            "The media are already in object storage (VIDEOCOACH_STORAGE="
            f"{current_settings().storage_url}): there are no local files to migrate."
        )
    return storage


def migrate(target_url: str, on_step: Callable[[Step], None] | None = None) -> Migrated:
    """Copy every local object to the bucket at `target_url`, skipping what is there.

    Raises Invalid (a bad URL), Conflict (not on local storage) or StorageError (the
    bucket is unusable or stopped answering: run it again to go on)."""
    source = local_source()
    target = open_target(target_url)
    target.check()
    listed = sorted(source.list_objects(files.CLIPS_PREFIX), key=lambda item: item.key)
    in_bucket = {item.key: item.size for item in target.list_objects(files.CLIPS_PREFIX)}
    recorded = _recorded_objects()
    db.session.rollback()  # nothing is written to the database; end the read
    tally = Migrated(
        target_url=target_url.rstrip("/"),
        source_root=source.root,
        endpoint_url=current_settings().s3_endpoint_url,
        total=len(listed),
        total_bytes=sum(item.size for item in listed),
    )
    log.info(
        "storage migrate: %d objects (%d bytes) from %s to %s; %d in the bucket already",
        tally.total,
        tally.total_bytes,
        source.root,
        target,
        len(in_bucket),
    )
    for item in listed:
        outcome = _migrate_one(item, source, target, in_bucket, recorded, tally)
        if on_step is not None:
            on_step(Step(item.key, item.size, outcome, tally))
    log.info(
        "storage migrate: copied %d, skipped %d, gone %d, problems %d",
        tally.copied,
        tally.skipped,
        tally.gone,
        len(tally.problems),
    )
    return tally


def _recorded_objects() -> dict[str, Recorded]:
    rows = db.session.execute(select(ClipAsset.key, ClipAsset.content_type, ClipAsset.sha256))
    return {key: Recorded(content_type, sha256) for key, content_type, sha256 in rows}


def _migrate_one(
    item: ListedObject,
    source: LocalStorage,
    target: Storage,
    in_bucket: dict[str, int],
    recorded: dict[str, Recorded],
    tally: Migrated,
) -> str:
    if in_bucket.get(item.key) == item.size:
        tally.skipped += 1
        tally.skipped_bytes += item.size
        return "skipped"
    facts = recorded.get(item.key, Recorded(UNKNOWN_CONTENT_TYPE, None))
    try:
        path = source.local_path(item.key)
        assert path is not None  # local storage: always the file itself
        stored = target.put_file(
            item.key, path, facts.content_type, checksum=facts.sha256 is not None
        )
    except FileNotFoundError:
        tally.gone += 1  # its clip was deleted while we copied: nothing to keep
        return "gone"
    problem = _check_copy(item.key, stored.size, stored.sha256, facts.sha256, target)
    if problem:
        target.delete(item.key)  # a bad copy must not look like a finished one to a rerun
        tally.problems.append(f"{item.key}: {problem}")
        return "failed"
    tally.copied += 1
    tally.copied_bytes += stored.size
    tally.checksums_verified += facts.sha256 is not None
    return "copied"


def _check_copy(
    key: str, size: int, local_sha256: str | None, recorded_sha256: str | None, target: Storage
) -> str | None:
    """Why the copy in the bucket is not the object, or None when it is."""
    copied_size = target.size(key)
    if copied_size != size:
        return f"the bucket holds {copied_size} bytes of {size}; not copied"
    if recorded_sha256 is None:
        return None
    if local_sha256 != recorded_sha256:
        return (
            "the local file no longer matches the SHA-256 recorded when it was stored "
            "(damaged on disk?); not copied"
        )
    if _stored_sha256(target, key) != recorded_sha256:
        return "the copy read back from the bucket does not match its SHA-256; not copied"
    return None


def _stored_sha256(storage: Storage, key: str) -> str:
    digest = hashlib.sha256()
    with contextlib.closing(storage.open(key)) as handle:
        for chunk in iter_chunks(handle):
            digest.update(chunk)
    return digest.hexdigest()
