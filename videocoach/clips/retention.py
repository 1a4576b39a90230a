"""Retention: how long the installation keeps what is uploaded (issue 14).

Two settings, both off unless set (docs/configuration.md#retention):

- VIDEOCOACH_KEEP_ORIGINALS_DAYS: an uploaded file is deleted N days after its upload,
  once the clip is ready with its web rendition (the rendition is what everyone plays;
  the original only served its uploader as a download).
- VIDEOCOACH_KEEP_CLIPS_DAYS: a clip is deleted M days after its upload (or after the
  date its uploader chose "Keep for another year"), with everything made from it. Its
  uploader is told DELETION_WARNING (14 days) ahead, in the app and by email, and the clip
  is never deleted sooner than that after the warning.

One daily job (workers.tasks.apply_retention, queued by each worker's housekeeping)
calls apply(now); each step is idempotent, so a second run the same day changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select

from videocoach import access, db, mail, transaction, urls
from videocoach.accounts.models import User
from videocoach.accounts.sessions import last_sign_in_origin
from videocoach.clips import files, services
from videocoach.clips.models import DELETION_WARNING, AssetKind, Clip, ClipAsset, ClipStatus
from videocoach.config import Settings, current_settings
from videocoach.db import utcnow
from videocoach.errors import Forbidden
from videocoach.notifications import services as notifications
from videocoach.notifications.models import Event
from videocoach.storage import current_storage

log = logging.getLogger(__name__)

APPLY_RETENTION = "videocoach.apply_retention"
KEEP_FOR = timedelta(days=365)  # "Keep for another year"


@dataclass
class Report:
    """What one run did, by clip id."""

    originals_deleted: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    clips_deleted: list[str] = field(default_factory=list)
    unwarned: list[str] = field(default_factory=list)


def enabled(settings: Settings) -> bool:
    return settings.keep_originals_days is not None or settings.keep_clips_days is not None


def expires_at(clip: Clip, settings: Settings) -> datetime | None:
    """When the clip's time is up (None: kept forever): M days after its upload, or the
    date its uploader chose to keep it until, whichever is later."""
    if settings.keep_clips_days is None:
        return None
    due = clip.created_at + timedelta(days=settings.keep_clips_days)
    return max(due, clip.kept_until) if clip.kept_until else due


def deletion_date(clip: Clip, settings: Settings) -> datetime | None:
    """When the clip will be deleted, as its page tells its uploader (None: never)."""
    due = expires_at(clip, settings)
    if due is None or clip.deletion_warned_at is None:
        return due
    return max(due, clip.deletion_warned_at + DELETION_WARNING)


def keep_for_another_year(user: User, clip_id: str) -> Clip:
    """The uploader's "Keep for another year": kept at least a year from now, and warned
    again DELETION_WARNING before that (any earlier warning no longer holds)."""
    clip = access.get_clip(user, clip_id)
    if clip.uploaded_by_id != user.id:
        raise Forbidden("Only the person who uploaded this clip can choose to keep it.")
    clip.kept_until = utcnow() + KEEP_FOR
    clip.deletion_warned_at = None
    db.session.flush()
    log.info("clip %s kept until %s by its uploader", clip.id, clip.kept_until.date())
    return clip


def apply(now: datetime | None = None) -> Report:
    """One retention run as of `now` (the tests pass a clock; the job passes nothing)."""
    now = now or utcnow()
    settings = current_settings()
    report = Report()
    if settings.keep_originals_days is not None:
        report.originals_deleted = delete_old_originals(now, settings.keep_originals_days)
    if settings.keep_clips_days is not None:
        report.unwarned = forget_early_warnings(now, settings)
        report.warned = warn_uploaders(now, settings)
        report.clips_deleted = delete_expired_clips(now, settings)
    log.info(
        "retention: %d originals deleted, %d uploaders warned, %d clips deleted",
        len(report.originals_deleted),
        len(report.warned),
        len(report.clips_deleted),
    )
    return report


def _has_asset(kind: AssetKind):  # type: ignore[no-untyped-def]
    return exists().where(ClipAsset.clip_id == Clip.id, ClipAsset.kind == kind.value)


def delete_old_originals(now: datetime, days: int) -> list[str]:
    """Originals older than `days`, of ready clips whose web rendition exists. The row goes
    first, then the object: no row ever points at a missing file."""
    clip_ids = db.session.scalars(
        select(Clip.id).where(
            Clip.created_at <= now - timedelta(days=days),
            Clip.status == ClipStatus.READY.value,
            _has_asset(AssetKind.ORIGINAL),
            _has_asset(AssetKind.WEB),
        )
    ).all()
    storage = current_storage()
    for clip_id in clip_ids:
        original = db.session.scalar(
            select(ClipAsset).where(
                ClipAsset.clip_id == clip_id, ClipAsset.kind == AssetKind.ORIGINAL.value
            )
        )
        if original is None:
            continue
        key = original.key
        db.session.delete(original)
        transaction.commit()
        storage.delete(key)
        log.info("retention: deleted the original of clip %s (older than %d days)", clip_id, days)
    return list(clip_ids)


def _expiring_by(moment: datetime, days: int):  # type: ignore[no-untyped-def]
    """Clips whose time is up by `moment` (expires_at in SQL)."""
    return and_(
        Clip.created_at <= moment - timedelta(days=days),
        or_(Clip.kept_until.is_(None), Clip.kept_until <= moment),
    )


def forget_early_warnings(now: datetime, settings: Settings) -> list[str]:
    """A warning whose clip is no longer due within DELETION_WARNING (the setting was
    raised) no longer holds: a fresh one comes in time."""
    assert settings.keep_clips_days is not None
    clips = db.session.scalars(
        select(Clip).where(
            Clip.deletion_warned_at.is_not(None),
            ~_expiring_by(now + DELETION_WARNING, settings.keep_clips_days),
        )
    ).all()
    for clip in clips:
        clip.deletion_warned_at = None
    transaction.commit()
    return [clip.id for clip in clips]


def warn_uploaders(now: datetime, settings: Settings) -> list[str]:
    """Tell each uploader, once, that their clip will be deleted DELETION_WARNING from now:
    in the app and by email (whatever their notification emails are set to: it is their
    data that goes)."""
    assert settings.keep_clips_days is not None
    clips = db.session.scalars(
        select(Clip)
        .where(
            Clip.deletion_warned_at.is_(None),
            _expiring_by(now + DELETION_WARNING, settings.keep_clips_days),
        )
        .order_by(Clip.created_at)
    ).all()
    warned = []
    for clip in clips:
        clip.deletion_warned_at = now
        uploader = db.session.get(User, clip.uploaded_by_id)
        if uploader is not None and uploader.is_active:
            told = notifications.notify(
                Event.CLIP_EXPIRING,
                [uploader],
                partnership_id=clip.partnership_id,
                clip_id=clip.id,
                emailed=True,  # its own email, below, goes whatever the preference
            )
            for notification in told:
                notification.created_at = now  # its sentence names the day: warned + 14
            mail.queue(uploader.email, *_warning_email(clip, uploader, now))
        transaction.commit()
        warned.append(clip.id)
        log.info("retention: warned the uploader of clip %s of its deletion", clip.id)
    return warned


def _warning_email(clip: Clip, uploader: User, now: datetime) -> tuple[str, str]:
    on = (now + DELETION_WARNING).date().isoformat()
    with urls.links_for_person(last_sign_in_origin(uploader.id)):
        link = urls.external_url("clips.clip_page", cid=clip.id)
    subject = f"Your clip “{clip.title}” will be deleted on {on}"
    body = (
        f"Hello {uploader.name},\n\n"
        f"Your school keeps lesson clips on videocoach for a set time, and the time of your "
        f"clip “{clip.title}” is up: it will be deleted on {on}, with its comments and "
        "every file made from it.\n\n"
        f"To keep it, open it and choose “Keep for another year”:\n{link}\n\n"
        "To take a copy of everything you own first, use “Download everything I own” on "
        "your account page.\n"
    )
    return subject, body


def delete_expired_clips(now: datetime, settings: Settings) -> list[str]:
    """Clips whose time is up and whose uploader was warned DELETION_WARNING ago or more,
    with every stored object and row of theirs. A clip a job is processing waits."""
    assert settings.keep_clips_days is not None
    clips = db.session.scalars(
        select(Clip).where(
            Clip.deletion_warned_at.is_not(None),
            Clip.deletion_warned_at <= now - DELETION_WARNING,
            _expiring_by(now, settings.keep_clips_days),
            Clip.status != ClipStatus.PROCESSING.value,
        )
    ).all()
    deleted = []
    for clip in clips:
        clip_id = clip.id
        removed = services.remove_clip(clip)
        transaction.commit()
        deleted.append(clip_id)
        log.info("retention: deleted clip %s and its %d stored objects", clip_id, removed)
    return deleted


def original_kept(clip: Clip) -> bool:
    """Whether the clip still has its uploaded file (retention may have deleted it)."""
    return files.asset_for(clip.assets, files.ORIGINAL) is not None
