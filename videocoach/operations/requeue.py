"""`videocoach requeue CLIP_ID`: hand a clip to the workers again.

A failed clip goes through the same service as the uploader's "Try again"
(clips.services.requeue_failed: fresh attempts, steps already done are skipped); a
waiting clip that no live job holds is handed over at once, as reconcile would do later.
A clip that is ready, or that a live job is processing, is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import not_, select

from videocoach import db, transaction
from videocoach.clips import dispatch
from videocoach.clips import services as clips
from videocoach.clips.models import Clip, ClipStatus
from videocoach.db import utcnow
from videocoach.errors import Conflict, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requeued:
    clip_id: str
    was: str  # the status before: "failed", "queued" or "processing"
    attempts_reset: bool


def requeue(clip_id: str, *, even_if_hopeless: bool = False) -> Requeued:
    """Queue the clip's processing again; raises NotFound or Conflict with a sentence."""
    clip = db.session.get(Clip, clip_id)
    if clip is None:
        raise NotFound(f"No clip has the id {clip_id}.")
    if clip.status == ClipStatus.READY.value:
        raise Conflict(f"Clip {clip.id} is ready already: there is nothing to process.")
    was = clip.status
    if was == ClipStatus.FAILED.value:
        clips.requeue_failed(clip, even_if_hopeless=even_if_hopeless)
    else:
        held = db.session.scalar(
            select(Clip.id).where(Clip.id == clip.id, not_(dispatch.unheld(utcnow())))
        )
        if held:
            step = f" (step {clip.step}, {round(clip.progress * 100)}%)" if clip.step else ""
            raise Conflict(
                f"Clip {clip.id} is being processed right now{step}: a worker holds it and "
                "its heartbeat is fresh. Nothing was changed."
            )
        dispatch.dispatch(clip)
    transaction.commit()
    log.info("requeue: clip %s handed to the workers again (was %s)", clip.id, was)
    return Requeued(clip_id=clip.id, was=was, attempts_reset=was == ClipStatus.FAILED.value)
