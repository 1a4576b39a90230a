"""Thin task wrappers: take ids, run the pipeline inside the app context (see FlaskTask)."""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy import select

from videocoach import db, jobs, mail
from videocoach.clips.models import Clip, ClipStatus
from videocoach.clips.services import PROCESS_CLIP
from videocoach.clips.uploads import sweep_expired
from videocoach.notifications import services as notifications
from workers import pipeline

log = logging.getLogger(__name__)
MAX_RETRIES = 5
# While another job holds a clip, look again after its heartbeat could have gone stale.
LOOK_AGAIN_S = int(pipeline.STALE_AFTER.total_seconds()) + 10
LOOK_AGAIN_TIMES = 200


@shared_task(name=PROCESS_CLIP, bind=True, max_retries=MAX_RETRIES)
def process_clip(self, clip_id: str) -> None:  # type: ignore[no-untyped-def]
    try:
        done = pipeline.process_clip(clip_id)
    except pipeline.TransientError as error:
        if self.request.retries >= MAX_RETRIES:
            pipeline.fail(clip_id, None, pipeline.UNEXPECTED)
            return
        raise self.retry(exc=error, countdown=min(300, 5 * 2**self.request.retries)) from error
    if not done and not self.request.is_eager:
        raise self.retry(countdown=LOOK_AGAIN_S, max_retries=LOOK_AGAIN_TIMES)


def recover_after_restart() -> None:
    """A worker start: queue again what a crash interrupted, drop abandoned uploads."""
    requeue_unfinished_clips()
    sweep_expired()


def requeue_unfinished_clips() -> int:
    """Queue again every clip a crash left queued or processing (claims stop double work)."""
    clip_ids = db.session.scalars(
        select(Clip.id).where(
            Clip.status.in_([ClipStatus.QUEUED.value, ClipStatus.PROCESSING.value])
        )
    ).all()
    for clip_id in clip_ids:
        jobs.enqueue(PROCESS_CLIP, clip_id)
    if clip_ids:
        log.info("re-queued %d unfinished clips", len(clip_ids))
    return len(clip_ids)


@shared_task(name=mail.SEND_EMAIL, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email(to: str, subject: str, body: str) -> None:
    """One email prepared by a request (an invitation), sent outside it."""
    if not mail.send(to=to, subject=subject, body=body):
        raise OSError(f"could not send email to {to}; will retry")


@shared_task(name=notifications.SEND_EMAILS)
def send_notification_emails(notification_ids: list[str]) -> int:
    """Email each notification to recipients who chose "immediate" (others: digest or none)."""
    return notifications.send_immediate_emails(notification_ids)


@shared_task(name=notifications.SEND_DIGESTS)
def send_daily_digests() -> int:
    """One email per "daily" user listing what they have not seen (run daily: send-digests)."""
    return notifications.send_daily_digests()
