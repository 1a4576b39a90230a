"""Resumable uploads (tus 1.0): the bookkeeping, with no HTTP in it.

Bytes are staged in <data dir>/uploads/<id> (local disk even when media lives
on S3); when the last byte arrives the staged file becomes a clip's original.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from werkzeug.exceptions import ClientDisconnected

from videocoach import db, transaction
from videocoach.accounts.models import User
from videocoach.clips import services
from videocoach.clips.models import Clip, Upload
from videocoach.clips.zerocopy import SocketSplicer
from videocoach.config import current_settings
from videocoach.db import utcnow
from videocoach.errors import Conflict, DomainError, Invalid, NotFound

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
            raise Invalid(f"Upload-Metadata value for {key!r} is not valid base64.") from None
    return metadata


def create_upload(user: User, length: int, metadata: dict[str, str]) -> Upload:
    settings = current_settings()
    if length > settings.max_upload_bytes:
        raise TooLarge(_too_large_message(settings.max_upload_bytes))
    if length == 0:
        raise Invalid("This file is empty. Choose the video file again.", code="empty_upload")
    partnership_id = metadata.get("partnership_id", "")
    if not partnership_id:
        raise Invalid(
            "Upload-Metadata must name the partnership_id.",
            fields={"partnership_id": "Required."},
        )
    services.require_uploader(user, partnership_id)
    filename = metadata.get("filename") or metadata.get("name") or ""
    upload = Upload(
        user_id=user.id,
        partnership_id=partnership_id,
        length=length,
        offset=0,
        filename=Path(filename).name[:255],
        title=services.clean_title(metadata.get("title"), filename),
        visibility=services.parse_visibility(metadata.get("visibility")),
        recorded_on=services.parse_recorded_on(metadata.get("recorded_on")),
        expires_at=utcnow() + settings.upload_expiry,
    )
    db.session.add(upload)
    db.session.flush()
    staged_path(upload.id).touch()
    return upload


def _too_large_message(limit: int) -> str:
    return f"This file is larger than the {limit / 1024**3:.3g} GB limit of this server."


def get_upload(user: User, upload_id: str) -> Upload:
    """An unfinished, unexpired upload of this user (anyone else: 404)."""
    upload = db.session.scalars(
        select(Upload).where(Upload.id == upload_id, Upload.user_id == user.id)
    ).first()
    if upload is None or upload.expires_at <= utcnow() or not staged_path(upload.id).exists():
        raise NotFound("This upload does not exist or has expired; start it again.")
    return upload


@contextmanager
def exclusive(upload: Upload) -> Iterator[BinaryIO]:
    """The staged file, open for writing, held by one request at a time."""
    with staged_path(upload.id).open("r+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Locked() from None
        yield handle


def append(upload: Upload, offset: int, body: BinaryIO) -> Clip | None:
    """Write a PATCH body at `offset`; returns the new clip when the upload is complete.

    Whatever arrives before a dropped connection is kept, so the client resumes there.
    """
    with exclusive(upload) as handle:
        db.session.refresh(upload)  # the offset as the previous writer left it
        if offset != upload.offset:
            raise Conflict(
                f"Upload-Offset {offset} does not match the server's offset {upload.offset}.",
                code="offset_mismatch",
            )
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
    if upload.offset < upload.length:
        return None
    return finish(upload)


def finish(upload: Upload) -> Clip:
    user = db.session.get(User, upload.user_id)
    assert user is not None
    clip = services.create_clip(
        user,
        upload.partnership_id,
        staged_path(upload.id),
        filename=upload.filename,
        title=upload.title,
        visibility=upload.visibility,
        recorded_on=upload.recorded_on,
    )
    db.session.delete(upload)
    transaction.commit()
    return clip


def terminate(upload: Upload) -> None:
    staged_path(upload.id).unlink(missing_ok=True)
    db.session.delete(upload)
    transaction.commit()


def sweep_expired() -> int:
    """Delete abandoned uploads past their expiry (tus expiration extension)."""
    expired = db.session.scalars(select(Upload).where(Upload.expires_at <= utcnow())).all()
    for upload in expired:
        staged_path(upload.id).unlink(missing_ok=True)
        db.session.delete(upload)
    transaction.commit()
    if expired:
        log.info("removed %d expired uploads", len(expired))
    return len(expired)
