"""Daily upload allowances: how many clips, and how many bytes, one person may upload in a
UTC day (VIDEOCOACH_UPLOADS_PER_DAY, VIDEOCOACH_UPLOAD_BYTES_PER_DAY; 0 = no limit).

An upload is counted when it is accepted: a multipart POST once its body is in (with an
early refusal from its Content-Length, before the body is read), a tus upload at creation
from its Upload-Length, so nobody sends gigabytes only to be refused at the end. A tus
upload abandoned before its last byte gives its share back; a deleted clip does not, since
its processing already cost the workers their time. The count is one conditional UPDATE,
so two uploads at once cannot both take the last place.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select, update

from videocoach import db
from videocoach.clips.models import UploadUsage
from videocoach.config import current_settings
from videocoach.db import utcnow
from videocoach.errors import DomainError

# Usage rows older than this are of no use to anyone.
KEEP_DAYS = 2


class OverAllowance(DomainError):
    """Today's allowance is used up. 429, not 413: the same upload is accepted once the
    day turns (Retry-After says when); 413 says a file can never be accepted here."""

    status = 429
    code = "upload_limit"


class LargerThanADay(DomainError):
    """A file larger than a whole day's bytes: no day will take it (hence 413)."""

    status = 413
    code = "too_large"


def size_text(size: int) -> str:
    """Bytes for a person, in the units of the server's other size messages."""
    for unit, step in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= step:
            return f"{size / step:.3g} {unit}"
    return f"{size} bytes"


def _next_midnight(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)


def _waiting_time(delta: timedelta) -> str:
    minutes = math.ceil(delta.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour" + ("" if hours == 1 else "s")] if hours else []
    if minutes:
        parts.append(f"{minutes} minute" + ("" if minutes == 1 else "s"))
    return " ".join(parts) or "less than a minute"


def resets(now: datetime) -> str:
    return f"The limit resets at midnight UTC, in {_waiting_time(_next_midnight(now) - now)}."


def _usage(user_id: str, day: date) -> tuple[int, int]:
    row = db.session.execute(
        select(UploadUsage.uploads, UploadUsage.bytes).where(
            UploadUsage.user_id == user_id, UploadUsage.day == day
        )
    ).first()
    return (row.uploads, row.bytes) if row else (0, 0)


def _refusal(uploads: int, used: int, size: int, now: datetime) -> DomainError | None:
    """Why an upload of `size` bytes is refused after `uploads` clips and `used` bytes
    today; None when it fits."""
    settings = current_settings()
    most, allowed = settings.uploads_per_day, settings.upload_bytes_per_day
    if allowed and size > allowed:
        return LargerThanADay(
            f"This file ({size_text(size)}) is more than the {size_text(allowed)} this server "
            "accepts from one person in a day, so it cannot be uploaded here. Export a "
            "shorter or smaller version and upload that."
        )
    if most and uploads + 1 > most:
        clips = "clip" if uploads == 1 else "clips"
        sentence = (
            f"You have uploaded {uploads} {clips} today, the most this server accepts from one "
            f"person in a day. {resets(now)}"
        )
    elif allowed and used >= allowed:
        sentence = (
            f"You have uploaded {size_text(used)} today, the most this server accepts from one "
            f"person in a day. {resets(now)}"
        )
    elif allowed and used + size > allowed:
        left = size_text(max(0, allowed - used))
        sentence = (
            f"This file ({size_text(size)}) would take your uploads today past the "
            f"{size_text(allowed)} a day this server accepts from one person: {left} is left "
            f"for today. {resets(now)}"
        )
    else:
        return None
    refusal = OverAllowance(sentence)
    wait = math.ceil((_next_midnight(now) - now).total_seconds())
    refusal.headers["Retry-After"] = str(wait)
    return refusal


def check(user_id: str, size: int) -> None:
    """Raise OverAllowance (or LargerThanADay) when an upload of at least `size` bytes
    would be refused now (before reading a body whose exact size is not known yet)."""
    now = utcnow()
    refusal = _refusal(*_usage(user_id, now.date()), size, now)
    if refusal is not None:
        raise refusal


def refusal_today(user_id: str) -> str | None:
    """For the upload page: the sentence when nothing more can be uploaded today."""
    now = utcnow()
    refusal = _refusal(*_usage(user_id, now.date()), 0, now)
    return refusal.message if refusal is not None else None


def reserve(user_id: str, size: int) -> date:
    """Count one upload of `size` bytes against today, in the caller's transaction, or raise
    OverAllowance (or LargerThanADay). Returns the day it counts on."""
    settings = current_settings()
    now = utcnow()
    day = now.date()
    db.session.execute(
        db.insert_or_update(UploadUsage)
        .values(user_id=user_id, day=day, uploads=0, bytes=0)
        .on_conflict_do_nothing(index_elements=[UploadUsage.user_id, UploadUsage.day])
    )
    fits = [UploadUsage.user_id == user_id, UploadUsage.day == day]
    if settings.uploads_per_day:
        fits.append(UploadUsage.uploads + 1 <= settings.uploads_per_day)
    if settings.upload_bytes_per_day:
        fits.append(UploadUsage.bytes + size <= settings.upload_bytes_per_day)
    counted = db.session.execute(
        update(UploadUsage)
        .where(*fits)
        .values(uploads=UploadUsage.uploads + 1, bytes=UploadUsage.bytes + size)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:  # type: ignore[attr-defined]
        refusal = _refusal(*_usage(user_id, day), size, now)
        raise refusal or OverAllowance(resets(now))  # a limit lowered between the two reads
    return day


def give_back(user_id: str, day: date, size: int) -> None:
    """An upload abandoned before its last byte: it no longer counts."""
    db.session.execute(
        update(UploadUsage)
        .where(UploadUsage.user_id == user_id, UploadUsage.day == day, UploadUsage.uploads > 0)
        .values(uploads=UploadUsage.uploads - 1, bytes=UploadUsage.bytes - size)
        .execution_options(synchronize_session=False)
    )


def forget_old_days() -> None:
    db.session.execute(
        delete(UploadUsage)
        .where(UploadUsage.day < utcnow().date() - timedelta(days=KEEP_DAYS))
        .execution_options(synchronize_session=False)
    )
