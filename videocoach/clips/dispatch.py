"""Handing clips to the workers, and making sure none waits unattended.

The database is the source of truth, the broker only a way to wake a worker: a clip
whose job never reached the broker (it was down), was lost with it, or was interrupted
(a killed worker: its heartbeat goes stale) is handed over again by reconcile(), which
every worker runs at start and then periodically. Claims (workers/pipeline.claim) make a
duplicate job harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select, update

from videocoach import background, db, jobs, mail, transaction
from videocoach.accounts.models import User
from videocoach.clips.models import Clip, ClipStatus
from videocoach.config import current_settings
from videocoach.db import utcnow

log = logging.getLogger(__name__)

# The pipeline's task (workers/tasks.py registers it under this name).
PROCESS_CLIP = "videocoach.process_clip"
WAITING = (ClipStatus.QUEUED.value, ClipStatus.PROCESSING.value)
# A clip nobody has started after this long is worth a sentence on its page.
CATCHING_UP_AFTER = timedelta(seconds=15)
CATCHING_UP = "Processing has not started yet: the service is catching up."
DELAYED = "Processing is delayed; your administrator has been told."


def dispatch(clip: Clip) -> None:
    """Queue processing for the clip once the caller's transaction commits."""
    now = utcnow()
    clip.queued_at = now
    clip.dispatched_at = now
    clip.delay_reported_at = None
    transaction.after_commit(_hand_over, clip.id)


def _hand_over(clip_ids: Sequence[str]) -> None:
    """After the commit: give each job to the broker. A broker that is down loses nothing:
    the clip stays queued with no dispatch time, and reconcile hands it over later."""
    for clip_id in clip_ids:
        if not jobs.enqueue_or_log(PROCESS_CLIP, clip_id):
            log.error(
                "clip %s stays queued; reconcile hands it over when the broker answers", clip_id
            )
            with transaction.separate_transaction() as connection:
                connection.execute(
                    update(Clip).where(Clip.id == clip_id).values(dispatched_at=None)
                )


def unheld(now: datetime) -> ColumnElement[bool]:
    """No live job holds the clip: no claim, or the claim's heartbeat went stale."""
    stale = now - current_settings().job_stale_after
    return or_(Clip.job_token.is_(None), Clip.heartbeat_at < stale)


def _unattended(now: datetime) -> ColumnElement[bool]:
    """Waiting clips that no live job holds."""
    return and_(Clip.status.in_(WAITING), unheld(now))


def reconcile() -> list[str]:
    """Hand over again every waiting clip that no live job holds and whose last hand-over
    is missing or old; report clips that waited too long. Returns the clips handed over."""
    settings = current_settings()
    now = utcnow()
    # Queued behind others is normal; a hand-over older than the delay limit may be lost.
    handed_over_long_ago = now - max(settings.processing_delay, settings.job_stale_after)
    stale = now - settings.job_stale_after
    clip_ids = db.session.scalars(
        select(Clip.id).where(
            _unattended(now),
            or_(
                Clip.dispatched_at.is_(None),
                Clip.dispatched_at < handed_over_long_ago,
                Clip.heartbeat_at < stale,  # interrupted: hand over now, not in ten minutes
            ),
        )
    ).all()
    handed_over: list[str] = []
    for clip_id in clip_ids:
        try:
            jobs.enqueue(PROCESS_CLIP, clip_id)
        except jobs.BROKER_ERRORS as error:
            log.warning("reconcile: the broker is unreachable (%s); will try again", error)
            break
        db.session.execute(update(Clip).where(Clip.id == clip_id).values(dispatched_at=now))
        transaction.commit()
        handed_over.append(clip_id)
    if handed_over:
        log.info("reconcile: handed %d waiting clips to the workers again", len(handed_over))
    for clip in db.session.scalars(
        select(Clip).where(
            _unattended(now),
            Clip.queued_at < now - settings.processing_delay,
            Clip.delay_reported_at.is_(None),
        )
    ).all():
        report_delay(clip)
    return handed_over


def processing_delay(clip: Clip) -> str | None:
    """A sentence for the clip's page while it waits longer than it should; None otherwise.

    Past the limit the site admins are told (once), so the sentence is true.
    """
    if clip.status not in WAITING:
        return None
    now = utcnow()
    settings = current_settings()
    held = clip.job_token is not None and (
        clip.heartbeat_at is not None and clip.heartbeat_at >= now - settings.job_stale_after
    )
    if held:
        return None
    waited = now - (clip.queued_at or clip.created_at)
    if waited >= settings.processing_delay:
        report_delay(clip)
        return DELAYED
    if waited >= CATCHING_UP_AFTER or background.worker_problem():
        return CATCHING_UP
    return None


def report_delay(clip: Clip) -> None:
    """Tell the operators (log) and the site admins (email), once per wait."""
    now = utcnow()
    with transaction.separate_transaction() as connection:
        won = connection.execute(
            update(Clip)
            .where(Clip.id == clip.id, Clip.delay_reported_at.is_(None))
            .values(delay_reported_at=now)
        )
    if won.rowcount != 1:
        return  # another request or worker reported it
    waited = int((now - (clip.queued_at or clip.created_at)).total_seconds() // 60)
    problem = background.worker_problem() or "the workers are busy or failing"
    log.error("clip %s has waited %d minutes for processing: %s", clip.id, waited, problem)
    admins = db.session.scalars(select(User.email).where(User.is_admin.is_(True))).all()
    if admins:
        body = (
            f"A lesson clip has waited {waited} minutes to be processed.\n\n"
            f"What the service sees: {problem}\n\n"
            "Check that `videocoach worker` (or `videocoach serve`) is running and that its "
            "log shows no errors; the /readyz page says what is missing.\n"
        )
        _email_in_background(list(admins), "videocoach: processing is delayed", body)


def _email_in_background(recipients: list[str], subject: str, body: str) -> None:
    # Sent from here, not through the broker: the broker may be what is down.
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def send() -> None:
        with app.app_context():
            for to in recipients:
                mail.send(to=to, subject=subject, body=body)

    threading.Thread(target=send, name="delay-report", daemon=True).start()
