"""Resumable uploads (tus 1.0): the bookkeeping, with no HTTP in it.

Where the bytes wait for the last one depends on where media lives. Local media (one
web host, or several sharing one data directory): in <data dir>/uploads/<id>, one file
written in place under an flock. S3 media (any number of web hosts, no stickiness): in
the bucket, one object per PATCH (clips.staged_chunks), so any host takes the next
PATCH. When the last byte arrives the staged bytes become a clip's original.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from werkzeug.exceptions import ClientDisconnected

from videocoach import db, limits, transaction
from videocoach.accounts.models import User
from videocoach.clips import quotas, services, staged_chunks
from videocoach.clips.models import Clip, Upload
from videocoach.clips.zerocopy import SocketSplicer
from videocoach.config import current_settings
from videocoach.db import utcnow
from videocoach.errors import Conflict, DomainError, Invalid, NotFound
from videocoach.storage import LocalStorage, StorageError, StoredObject, current_storage

log = logging.getLogger(__name__)
# A connection reset mid-read loses at most this much; large enough to keep uploads fast.
CHUNK = 256 * 1024


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class Locked(DomainError):
    status = 423
    code = "upload_busy"
    default_message = "Another request is writing to this upload; try again in a moment."


def stages_in_storage() -> bool:
    """Media in S3 may be served by several web hosts, so uploads are staged there too;
    local media means one host, or hosts sharing one data directory."""
    return not isinstance(current_storage(), LocalStorage)


def staging_dir() -> Path:
    folder = current_settings().data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def staged_path(upload_id: str) -> Path:
    return staging_dir() / upload_id


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs (value optional)."""
    metadata: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, encoded = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Invalid(
                f"Upload-Metadata value for {key[:40]!r} is not valid base64 of UTF-8 text.",
                code="bad_metadata",
            ) from None
    return metadata


def create_upload(user: User, length: int, metadata: dict[str, str]) -> Upload:
    settings = current_settings()
    if length > settings.max_upload_bytes:
        raise TooLarge(too_large_message(settings.max_upload_bytes))
    if length == 0:
        raise Invalid("This file is empty. Choose the video file again.", code="empty_upload")
    partnership_id = metadata.get("partnership_id", "")
    if not partnership_id:
        raise Invalid(
            "Upload-Metadata must name the partnership_id.",
            fields={"partnership_id": "Required."},
        )
    services.require_uploader(user, partnership_id)
    quotas.reserve(user.id, length)  # now, from Upload-Length: before a byte is sent
    filename = metadata.get("filename") or metadata.get("name") or ""
    upload = Upload(
        user_id=user.id,
        partnership_id=partnership_id,
        length=length,
        offset=0,
        filename=limits.clean_filename(filename),
        title=services.clean_title(metadata.get("title"), filename),
        visibility=services.parse_visibility(metadata.get("visibility")),
        recorded_on=services.parse_recorded_on(metadata.get("recorded_on")),
        expires_at=utcnow() + settings.upload_expiry,
    )
    db.session.add(upload)
    db.session.flush()
    if not stages_in_storage():
        staged_path(upload.id).touch()
    return upload


def too_large_message(limit: int) -> str:
    """The refusal of a file over `limit` bytes, whichever door it came through."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if limit >= size:
            return f"This file is larger than the {limit / size:.3g} {unit} limit of this server."
    return f"This file is larger than the {limit}-byte limit of this server."


def get_upload(user: User, upload_id: str) -> Upload:
    """An unexpired upload of this user, unfinished or finished (anyone else: 404)."""
    upload = db.session.scalars(
        select(Upload).where(Upload.id == upload_id, Upload.user_id == user.id)
    ).first()
    if upload is None or upload.expires_at <= utcnow():
        raise NotFound(GONE)
    if upload.clip_id is None and not _has_staged_bytes(upload):
        raise NotFound(GONE)  # finished, and its clip deleted since
    return upload


def _has_staged_bytes(upload: Upload) -> bool:
    if stages_in_storage():
        return staged_chunks.has_staged_bytes(upload)
    return staged_path(upload.id).exists()


GONE = "This upload does not exist or has expired; start it again."


class _Finished(Exception):
    """The staged file was taken by the request that received the last byte."""


@contextmanager
def exclusive(upload: Upload) -> Iterator[BinaryIO]:
    """The staged file, open for writing, held by one request at a time, with the
    offset brought up to what is on disk: bytes a crashed server wrote before it could
    record them still count, so a client resumes where the data ends."""
    try:
        handle = staged_path(upload.id).open("r+b")
    except FileNotFoundError:
        raise _Finished() from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Locked() from None
        db.session.refresh(upload)  # the offset as the previous writer left it
        on_disk = min(os.fstat(handle.fileno()).st_size, upload.length)
        if on_disk > upload.offset:
            log.info("upload %s: recovered %d bytes", upload.id, on_disk - upload.offset)
            upload.offset = on_disk
            transaction.commit()
        yield handle


def current_state(upload: Upload) -> Clip | None:
    """For HEAD: the offset the client should resume from, and the clip once the upload
    is complete. An upload whose last byte arrived just before a crash is finished now."""
    if upload.clip_id is None:
        try:
            if stages_in_storage():
                # The offset is in the database: only a complete upload needs the claim.
                if upload.offset == upload.length:
                    with _claimed(upload):
                        if upload.clip_id is None:
                            return _finish_from_storage(upload)
            else:
                with exclusive(upload):
                    if upload.offset == upload.length:
                        return finish(upload)
        except (_Finished, Locked):
            db.session.refresh(upload)
    return db.session.get(Clip, upload.clip_id) if upload.clip_id else None


def append(upload: Upload, offset: int, body: BinaryIO) -> Clip | None:
    """Write a PATCH body at `offset`; returns the clip when the upload is complete.

    Whatever arrives before a dropped connection is kept, so the client resumes there.
    A PATCH at the final offset of a finished upload (its answer was lost on the way)
    gets the same clip again, never a second one.
    """
    if stages_in_storage():
        return _append_to_storage(upload, offset, body)
    try:
        with exclusive(upload) as handle:
            _check_offset(upload, offset)
            _write(upload, handle, offset, body)
            return finish(upload) if upload.offset == upload.length else None
    except _Finished:
        db.session.refresh(upload)
    if upload.clip_id is None:
        raise NotFound(GONE)
    _check_offset(upload, offset)
    return db.session.get(Clip, upload.clip_id)


def _check_offset(upload: Upload, offset: int) -> None:
    if offset != upload.offset:
        raise Conflict(
            f"Upload-Offset {offset} does not match the server's offset {upload.offset}.",
            code="offset_mismatch",
        )


def _write(upload: Upload, handle: BinaryIO, offset: int, body: BinaryIO) -> None:
    handle.seek(offset)
    written = 0
    splicer = SocketSplicer.for_body(body)
    try:
        if splicer is not None:
            if splicer.remaining > upload.length - offset:
                raise TooLarge("More bytes arrived than Upload-Length announced.")
            try:
                splicer.copy_into(handle.fileno(), offset)
            finally:
                written = splicer.written
                log.info("upload %s: %d bytes spliced from the socket", upload.id, written)
        else:
            while chunk := body.read(CHUNK):
                if offset + written + len(chunk) > upload.length:
                    raise TooLarge("More bytes arrived than Upload-Length announced.")
                handle.write(chunk)
                written += len(chunk)
    except (OSError, ClientDisconnected):  # the client went away mid-body
        log.info("upload %s interrupted at %d bytes", upload.id, offset + written)
    finally:
        handle.flush()
        handle.truncate(offset + written)
        upload.offset = offset + written
        transaction.commit()


@contextmanager
def _claimed(upload: Upload) -> Iterator[str]:
    """The upload's writer claim, across every web host, for the length of the block."""
    token = staged_chunks.claim(upload)
    if token is None:
        raise Locked()
    try:
        yield token
    except BaseException:
        db.session.rollback()  # what the block left half done is not committed with the release
        raise
    finally:
        staged_chunks.release(upload.id, token)


def _append_to_storage(upload: Upload, offset: int, body: BinaryIO) -> Clip | None:
    """`append` when the bytes are staged in the object store, one chunk per PATCH."""
    with _claimed(upload) as token:
        if upload.clip_id is None:
            if not staged_chunks.has_staged_bytes(upload):
                raise NotFound(GONE)
            _check_offset(upload, offset)
            if upload.offset < upload.length:
                _store_chunk(upload, body, token)
            return _finish_from_storage(upload) if upload.offset == upload.length else None
    _check_offset(upload, offset)
    return db.session.get(Clip, upload.clip_id)


def _store_chunk(upload: Upload, body: BinaryIO, token: str) -> None:
    try:
        chunk = staged_chunks.store(upload, body, token)
    except staged_chunks.BeyondLength:
        raise TooLarge("More bytes arrived than Upload-Length announced.") from None
    except staged_chunks.ClaimLost:
        raise Locked() from None
    if chunk is not None and not staged_chunks.record(upload, chunk, token):
        raise Locked()  # the claim ran out while the body came in; another request has it


def _finish_from_storage(upload: Upload) -> Clip:
    clip = finish(upload, staged_chunks.staged_parts(upload))
    _discard_staged_objects(upload.id)
    return clip


def finish(upload: Upload, original: Path | Sequence[StoredObject] | None = None) -> Clip:
    """The last byte is in: the staged bytes (the staged file unless the staged objects
    are given) become the clip's original. The upload is kept, pointing at its clip, until it
    expires, so a client that missed the answer learns the clip from HEAD or a repeated
    PATCH."""
    user = db.session.get(User, upload.user_id)
    assert user is not None
    clip = services.create_clip(
        user,
        upload.partnership_id,
        original if original is not None else staged_path(upload.id),
        filename=upload.filename,
        title=upload.title,
        visibility=upload.visibility,
        recorded_on=upload.recorded_on,
    )
    upload.clip_id = clip.id
    staged_chunks.forget(upload.id)  # with the clip: a crash leaves both or neither
    transaction.commit()
    return clip


def terminate(upload: Upload) -> None:
    _forget(upload)
    transaction.commit()
    discard_staged(upload.id)


def _forget(upload: Upload) -> None:
    """Remove an upload's row (its staged bytes: discard_staged, after the commit); one
    abandoned before its last byte no longer counts against the uploader's daily
    allowance (a finished one does: it became a clip)."""
    if upload.clip_id is None and upload.offset < upload.length:
        quotas.give_back(upload.user_id, upload.created_at.date(), upload.length)
    db.session.delete(upload)


def discard_staged(upload_id: str) -> None:
    """Delete what an upload staged, wherever it was staged. Objects that cannot be
    deleted now are left for `videocoach reconcile`, which finds them by their prefix."""
    staged_path(upload_id).unlink(missing_ok=True)
    if stages_in_storage():
        _discard_staged_objects(upload_id)


def _discard_staged_objects(upload_id: str) -> None:
    try:
        staged_chunks.discard(upload_id)
    except StorageError as error:
        log.warning("upload %s: staged objects left for reconcile: %s", upload_id, error)


def sweep_expired() -> int:
    """Delete abandoned uploads past their expiry (tus expiration extension)."""
    expired = db.session.scalars(select(Upload).where(Upload.expires_at <= utcnow())).all()
    removed = [upload.id for upload in expired]
    for upload in expired:
        _forget(upload)
    quotas.forget_old_days()
    transaction.commit()
    for upload_id in removed:
        discard_staged(upload_id)
    if removed:
        log.info("removed %d expired uploads", len(removed))
    return len(removed)
