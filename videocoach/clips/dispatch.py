"""Handing clips to the workers, and making sure none waits unattended.

The database is the source of truth, the broker only a way to wake a worker: a clip
whose job never reached the broker (it was down), was lost with it, or was interrupted
(a killed worker: its heartbeat goes stale) is handed over again by reconcile(), which
every worker runs at start and then periodically. Claims (workers/pipeline.claim) make a
duplicate job harmless.

Turns (workers/turns.py): a clip whose transcode must wait so that one person's long clips
cannot starve everyone else's is handed back marked WAITING_TURN and looked at again a few
seconds later; a long clip's later hand-overs go to the long queue (long_queue), which
every worker reads unless it runs for short clips only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select, update

from videocoach import background, db, jobs, mail, transaction
from videocoach.accounts.models import User
from videocoach.clips.models import Clip, ClipStatus
from videocoach.config import Settings, current_settings
from videocoach.db import utcnow

log = logging.getLogger(__name__)

# The pipeline's task (workers/tasks.py registers it under this name).
PROCESS_CLIP = "videocoach.process_clip"
WAITING = (ClipStatus.QUEUED.value, ClipStatus.PROCESSING.value)
# A clip nobody has started after this long is worth a sentence on its page.
CATCHING_UP_AFTER = timedelta(seconds=15)
CATCHING_UP = "Processing has not started yet: the service is catching up."
DELAYED = "Processing is delayed; your administrator has been told."
# The step of a clip handed back to wait for its turn (workers/turns.py).
WAITING_TURN = "waiting"
TURN = "Waiting its turn: other clips are being processed first. It starts by itself."


def long_queue(settings: Settings) -> str:
    """The broker queue for long clips' transcodes (workers read it beside the default)."""
    return f"{settings.celery_queue}.long"


def is_long(clip: Clip) -> bool:
    """Long by its probed duration (unknown before the first probe: not long)."""
    return _long(clip.duration_ms, current_settings())


def _long(duration_ms: int | None, settings: Settings) -> bool:
    return duration_ms is not None and duration_ms >= settings.long_clip_s * 1000


def queue_for(clip: Clip) -> str | None:
    """Where the clip's job goes: the long queue once the probe said it is long."""
    return _queue_for(clip.duration_ms, current_settings())


def _queue_for(duration_ms: int | None, settings: Settings) -> str | None:
    return long_queue(settings) if _long(duration_ms, settings) else None


def dispatch(clip: Clip) -> None:
    """Queue processing for the clip once the caller's transaction commits."""
    now = utcnow()
    clip.queued_at = now
    clip.dispatched_at = now
    clip.delay_reported_at = None
    transaction.after_commit(_hand_over, (clip.id, queue_for(clip)))


def _hand_over(jobs_to_queue: Sequence[tuple[str, str | None]]) -> None:
    """After the commit: give each job to the broker. A broker that is down loses nothing:
    the clip stays queued with no dispatch time, and reconcile hands it over later."""
    for clip_id, queue in jobs_to_queue:
        if not jobs.enqueue_or_log(PROCESS_CLIP, clip_id, queue=queue):
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


def held(now: datetime) -> ColumnElement[bool]:
    """A live job holds the clip: claimed, with a fresh heartbeat."""
    return and_(Clip.job_token.is_not(None), not_(unheld(now)))


def behind_others(clip: Clip) -> bool:
    """Whether the clip's uploader already runs VIDEOCOACH_JOBS_PER_UPLOADER clips (not
    counting this one) while a clip of someone who runs fewer waits: then that clip goes
    first. With nobody else waiting, a person's clips may use every free slot."""
    cap = current_settings().jobs_per_uploader
    if not cap:
        return False
    now = utcnow()
    running: dict[str, int] = dict(
        db.session.execute(  # type: ignore[arg-type]
            select(Clip.uploaded_by_id, func.count())
            .where(Clip.status == ClipStatus.PROCESSING.value, held(now), Clip.id != clip.id)
            .group_by(Clip.uploaded_by_id)
        ).all()
    )
    mine = running.get(clip.uploaded_by_id, 0)
    if mine < cap:
        return False
    others_waiting = db.session.scalars(
        select(Clip.uploaded_by_id)
        .where(_unattended(now), Clip.uploaded_by_id != clip.uploaded_by_id)
        .distinct()
    ).all()
    return any(running.get(other, 0) < mine for other in others_waiting)


def _turn_explained(now: datetime) -> ColumnElement[bool]:
    """A clip waits for its turn, and what it waits for is running: one of its uploader's
    other clips, or (for a long clip) another long clip. Not a fault to report."""
    other = Clip.__table__.alias("other")
    long_ms = current_settings().long_clip_s * 1000
    stale = now - current_settings().job_stale_after
    return and_(
        func.coalesce(Clip.step, "") == WAITING_TURN,  # never NULL: not_() must stay true/false
        exists().where(
            other.c.id != Clip.id,
            other.c.status == ClipStatus.PROCESSING.value,
            other.c.job_token.is_not(None),
            other.c.heartbeat_at >= stale,
            or_(
                other.c.uploaded_by_id == Clip.uploaded_by_id,
                and_(Clip.duration_ms >= long_ms, other.c.duration_ms >= long_ms),
            ),
        ),
    )


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
    waiting = db.session.execute(
        select(Clip.id, Clip.duration_ms).where(
            _unattended(now),
            or_(
                Clip.dispatched_at.is_(None),
                Clip.dispatched_at < handed_over_long_ago,
                Clip.heartbeat_at < stale,  # interrupted: hand over now, not in ten minutes
            ),
        )
    ).all()
    handed_over: list[str] = []
    for clip_id, duration_ms in waiting:
        try:
            jobs.enqueue(PROCESS_CLIP, clip_id, queue=_queue_for(duration_ms, settings))
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
            not_(_turn_explained(now)),
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
    being_processed = clip.job_token is not None and (
        clip.heartbeat_at is not None and clip.heartbeat_at >= now - settings.job_stale_after
    )
    if being_processed:
        return None
    if clip.step == WAITING_TURN and db.session.scalar(
        select(Clip.id).where(Clip.id == clip.id, _turn_explained(now))
    ):
        return TURN
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


def clips_by_status() -> dict[str, int]:
    """How many clips are in each status (every status listed, 0 included)."""
    counts = dict.fromkeys((status.value for status in ClipStatus), 0)
    rows = db.session.execute(select(Clip.status, func.count()).group_by(Clip.status))
    counts.update({status: count for status, count in rows})
    return counts


def oldest_unfinished_s() -> float:
    """Seconds since the oldest clip still queued or processing was queued (0: none)."""
    oldest = db.session.scalar(select(func.min(Clip.queued_at)).where(Clip.status.in_(WAITING)))
    return max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0


def queue_names(settings: Settings) -> tuple[str, str]:
    """The broker queues clip jobs wait in: the default one and the long clips' one."""
    return settings.celery_queue, long_queue(settings)
