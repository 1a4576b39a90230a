"""Thin task wrappers: take ids, run the pipeline inside the app context (see FlaskTask)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict
from datetime import datetime

from celery import shared_task
from sqlalchemy import not_, select

from videocoach import db, jobs, mail, urls
from videocoach.clips import dispatch, face_preview, files, retention
from videocoach.clips import redaction as clip_redaction
from videocoach.clips.models import Clip, ClipStatus
from videocoach.clips.uploads import sweep_expired
from videocoach.config import current_settings
from videocoach.notifications import services as notifications
from videocoach.takeout import services as takeout
from workers import face_preview as face_finder
from workers import pipeline, redaction, turns

log = logging.getLogger(__name__)
MAX_RETRIES = 5
LOOK_AGAIN_TIMES = 200
# How soon a clip waiting for its turn to transcode is looked at again: the wait it adds
# once the turn is free.
LOOK_AGAIN_FOR_TURN_S = 3.0


@shared_task(name=dispatch.PROCESS_CLIP, bind=True, max_retries=MAX_RETRIES)
def process_clip(self, clip_id: str) -> None:  # type: ignore[no-untyped-def]
    try:
        done = pipeline.process_clip(clip_id)
    except pipeline.WaitingTurn as wait:
        if not self.request.is_eager:
            look_again_for_turn(clip_id, wait.queue)
        return
    except pipeline.TransientError as error:
        if self.request.retries >= MAX_RETRIES:
            pipeline.fail(clip_id, None, pipeline.UNEXPECTED)
            return
        raise self.retry(exc=error, countdown=min(300, 5 * 2**self.request.retries)) from error
    if not done and not self.request.is_eager:
        # Another job holds the clip: look again once its heartbeat could have gone stale.
        look_again_s = current_settings().job_stale_after.total_seconds() + 2
        raise self.retry(countdown=look_again_s, max_retries=LOOK_AGAIN_TIMES)


@shared_task(name=clip_redaction.REDACT_CLIP)
def redact_clip(clip_id: str, version: int) -> None:
    """Make the version of the clip its uploader chose to share (workers/redaction.py)."""
    redaction.redact_clip(clip_id, version)


@shared_task(name=face_preview.FIND_FACES)
def find_faces(clip_id: str, version: int) -> None:
    """Where faces are in view, for the uploader's redaction panel (workers/face_preview.py)."""
    face_finder.find_faces(clip_id, version)


def look_again_for_turn(clip_id: str, queue: str | None) -> None:
    """A new job (not a retry: waiting for a turn must not use up the retries that
    transient faults need) that looks at the clip again in a few seconds. Should the
    broker refuse it, reconcile hands the clip over once its heartbeat goes stale."""
    every_s = (
        current_settings().job_stale_after.total_seconds() / pipeline.HEARTBEATS_PER_STALE_PERIOD
    )
    try:
        jobs.enqueue(
            dispatch.PROCESS_CLIP,
            clip_id,
            queue=queue,
            countdown=min(LOOK_AGAIN_FOR_TURN_S, every_s),
        )
    except jobs.BROKER_ERRORS as error:
        log.warning("clip %s waits for its turn; the broker is away (%s)", clip_id, error)


def recover_after_restart() -> None:
    """A worker start: clean scratch space a crash left, hand over waiting clips again,
    drop abandoned uploads."""
    clean_scratch_space()
    turns.forget_stale_lock_dirs()
    dispatch.reconcile()
    sweep_expired()


def reconcile() -> None:
    """The periodic pass every worker makes (see workers.celery_app.Housekeeping)."""
    clean_scratch_space()
    dispatch.reconcile()
    takeout.sweep_expired()  # a person's whole data must not outlive its one-time link


def clean_scratch_space() -> int:
    """Remove every scratch folder in this machine's data directory that no live job uses:
    a killed job's partial renditions are private video and must not stay behind."""
    work_root = files.scratch_root(current_settings().data_dir)
    if not work_root.is_dir():
        return 0
    in_use = set(
        db.session.scalars(
            select(Clip.id).where(
                Clip.status == ClipStatus.PROCESSING.value,
                not_(dispatch.unheld(pipeline.utcnow())),
            )
        )
    )
    db.session.rollback()
    removed = 0
    for folder in work_root.iterdir():
        if folder.name in in_use:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    if removed:
        log.info("removed %d scratch folders no job uses", removed)
    return removed


@shared_task(name=mail.SEND_EMAIL, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(to: str, subject: str, body: str) -> None:
    """One email prepared by a request (an invitation), sent outside it."""
    if not mail.send(to=to, subject=subject, body=body):
        raise OSError(f"could not send email to {to}; will retry")


@shared_task(name=notifications.SEND_EMAILS)
def send_notification_emails(notification_ids: list[str], origin: str | None = None) -> int:
    """Email each notification to recipients who chose "immediate" (others: digest or none),
    with links on `origin`, the address of the request that caused them, unless
    VIDEOCOACH_PUBLIC_URL is set (jobs queued before there was an origin have none)."""
    with urls.links_from(origin):
        return notifications.send_immediate_emails(notification_ids)


@shared_task(name=notifications.SEND_DIGESTS)
def send_daily_digests() -> int:
    """One email per "daily" user listing what they have not seen (run daily: send-digests)."""
    return notifications.send_daily_digests()


@shared_task(name=retention.APPLY_RETENTION)
def apply_retention(now: str | None = None) -> dict[str, list[str]]:
    """The daily retention run (clips.retention), queued by each worker's housekeeping;
    `now` (ISO 8601) stands in for the clock in tests. Returns what it did, by clip id."""
    moment = datetime.fromisoformat(now) if now else None
    return asdict(retention.apply(moment))


@shared_task(name=takeout.BUILD_DATA_EXPORT)
def build_data_export(export_id: str) -> None:
    """Build a person's "Download everything I own" zip (videocoach.takeout)."""
    takeout.build(export_id)
