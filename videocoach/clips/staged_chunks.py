"""tus bytes staged in the object store, so any web host can take an upload's next PATCH.

Used when media lives in S3, the one setup where several web hosts share media. Each
PATCH's bytes become one object, `tus-staging/<upload id>/<start>-<claim>`, recorded as an
UploadChunk row once they are safely stored; the upload's offset, in the database, is
where its last chunk ends, so HEAD on any host answers what is durably stored.

A request writes only while it holds the upload's writer claim (a conditional UPDATE on
the row, renewed while the body streams in), and records its chunk only if the offset is
still the one it started from and the claim still its own: two PATCHes racing get 423 or
409, never interleaved bytes. When the last byte is in, clips.uploads joins the chunks
into the clip's original (inside S3 when they are large enough, see
S3Storage.put_concatenation), then they are deleted.

Why not an S3 multipart upload straight into the original: every part but the last must
be at least 5 MiB, and tus PATCHes can be any size, so small PATCHes would have to be
buffered somewhere every host can see: which is what these objects are.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import BinaryIO

from flask import Flask, current_app
from sqlalchemy import delete, exists, or_, select, update
from werkzeug.exceptions import ClientDisconnected

from videocoach import db, transaction
from videocoach.clips.models import Upload, UploadChunk
from videocoach.db import utcnow
from videocoach.storage import StoredObject, current_storage

log = logging.getLogger(__name__)

STAGING_PREFIX = "tus-staging/"
# A claim outlives a crashed writer by this much (its client's resume gets 423 until
# then; the upload page retries for minutes); a live writer renews it as bytes arrive.
CLAIM_FOR = timedelta(seconds=30)
RENEW_EVERY_S = 10.0
# boto3 asks for a whole part (8 MiB) at once; reading less at a time lets a slow link
# renew the claim between reads.
READ_AT_MOST = 256 * 1024


class BeyondLength(Exception):
    """The body carries more bytes than the upload has room for."""


class ClaimLost(Exception):
    """The writer's claim ran out (it stalled past CLAIM_FOR) and another request took it."""


def prefix(upload_id: str) -> str:
    return f"{STAGING_PREFIX}{upload_id}/"


def claim(upload: Upload) -> str | None:
    """Take the upload's writer claim, whichever host holds the request; None while a live
    claim is someone else's. Committed at once, so every other host sees it."""
    token = secrets.token_hex(16)
    now = utcnow()
    taken = db.session.execute(
        update(Upload)
        .where(
            Upload.id == upload.id,
            or_(Upload.writer_token.is_(None), Upload.writer_until < now),
        )
        .values(writer_token=token, writer_until=now + CLAIM_FOR)
        .execution_options(synchronize_session=False)
    ).rowcount
    transaction.commit()
    if not taken:
        return None
    db.session.refresh(upload)  # the offset as the previous writer left it
    return token


def release(upload_id: str, token: str) -> None:
    db.session.execute(
        update(Upload)
        .where(Upload.id == upload_id, Upload.writer_token == token)
        .values(writer_token=None, writer_until=None)
        .execution_options(synchronize_session=False)
    )
    transaction.commit()


def _renew(app: Flask, upload_id: str, token: str) -> None:
    # Called from boto3's reading thread: a connection of its own, not the request's session.
    with transaction.separate_transaction(app) as connection:
        renewed = connection.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.writer_token == token)
            .values(writer_until=utcnow() + CLAIM_FOR)
        ).rowcount
    if not renewed:
        raise ClaimLost()


class _ChunkBody:
    """The PATCH body as boto3 reads it: a dropped connection reads as the end of the body,
    so the bytes that did arrive are stored; more than `room` bytes is refused; the claim
    is renewed while the bytes keep coming."""

    def __init__(self, body: BinaryIO, room: int, app: Flask, upload_id: str, token: str):
        self.body, self.room = body, room
        self.app, self.upload_id, self.token = app, upload_id, token
        self.received = 0
        self.interrupted = False
        self._renewed_at = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        if self.interrupted:
            return b""
        try:
            data = self.body.read(READ_AT_MOST if size < 0 else min(size, READ_AT_MOST))
        except (OSError, ClientDisconnected):  # the client went away mid-body
            self.interrupted = True
            return b""
        if self.received + len(data) > self.room:
            raise BeyondLength()
        self.received += len(data)
        if time.monotonic() - self._renewed_at > RENEW_EVERY_S:
            _renew(self.app, self.upload_id, self.token)
            self._renewed_at = time.monotonic()
        return data


def store(upload: Upload, body: BinaryIO, token: str) -> UploadChunk | None:
    """Store the body as the chunk at the upload's offset (not yet recorded); None when no
    byte arrived. Raises BeyondLength or ClaimLost, storing nothing."""
    start = upload.offset
    key = f"{prefix(upload.id)}{start:020d}-{token}"
    room = upload.length - start
    reader = _ChunkBody(body, room, current_app._get_current_object(), upload.id, token)  # type: ignore[attr-defined]
    storage = current_storage()
    stored = storage.put_stream(key, reader, "application/octet-stream")  # type: ignore[arg-type]
    if reader.interrupted:
        log.info("upload %s interrupted at %d bytes", upload.id, start + stored.size)
    if stored.size == 0:
        storage.delete(key)
        return None
    return UploadChunk(upload_id=upload.id, start=start, size=stored.size, key=key)


def record(upload: Upload, chunk: UploadChunk, token: str) -> bool:
    """Count the stored chunk: the offset moves to its end, if it is still where the chunk
    starts and the claim still this request's. False (and the object deleted) otherwise."""
    moved = db.session.execute(
        update(Upload)
        .where(
            Upload.id == upload.id,
            Upload.offset == chunk.start,
            Upload.writer_token == token,
        )
        .values(offset=chunk.start + chunk.size)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        current_storage().delete(chunk.key)
        return False
    db.session.add(chunk)
    transaction.commit()
    db.session.refresh(upload)
    return True


def has_staged_bytes(upload: Upload) -> bool:
    """Whether the bytes the offset counts are still staged (not yet made into a clip)."""
    return upload.offset == 0 or bool(
        db.session.scalar(select(exists().where(UploadChunk.upload_id == upload.id)))
    )


def staged_parts(upload: Upload) -> list[StoredObject]:
    """The stored chunks of a complete upload, in order: one after another, its bytes."""
    chunks = db.session.scalars(
        select(UploadChunk).where(UploadChunk.upload_id == upload.id).order_by(UploadChunk.start)
    ).all()
    end = 0
    for chunk in chunks:
        if chunk.start != end:
            raise RuntimeError(f"upload {upload.id}: no staged bytes from {end} to {chunk.start}")
        end += chunk.size
    if end != upload.length:
        raise RuntimeError(f"upload {upload.id}: {end} of {upload.length} bytes staged")
    return [StoredObject(chunk.key, chunk.size, None) for chunk in chunks]


def forget(upload_id: str) -> None:
    """Drop the chunk rows (in the caller's transaction); `discard` deletes the objects."""
    db.session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload_id))


def discard(upload_id: str) -> int:
    """Delete every staged object of the upload; how many there were."""
    return current_storage().delete_prefix(prefix(upload_id))


def staged_in_storage() -> dict[str, tuple[int, datetime]]:
    """Upload id -> (bytes staged, last written) for every upload with staged objects."""
    found: dict[str, tuple[int, datetime]] = {}
    for item in current_storage().list_objects(STAGING_PREFIX):
        upload_id = item.key.removeprefix(STAGING_PREFIX).split("/", 1)[0]
        size, modified = found.get(upload_id, (0, item.modified_at))
        found[upload_id] = (size + item.size, max(modified, item.modified_at))
    return found
