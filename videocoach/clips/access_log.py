"""A clip's access log: who, other than its uploader, played it, exported its comments or
opened it in a meeting, the first time each day. Its uploader alone reads it; to anyone
else, site admins included, it does not exist."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from videocoach import access, db
from videocoach.accounts.models import User
from videocoach.clips.models import Clip, ClipAccess, WatchAction
from videocoach.db import utcnow
from videocoach.errors import NotFound


def record(user: User, clip: Clip, action: WatchAction) -> None:
    """Note that `user` (who can see `clip`: the caller checked) did `action` today. The
    uploader's own use is not logged; a second time the same day changes nothing."""
    if clip.uploaded_by_id == user.id:
        return
    now = utcnow()
    db.session.execute(
        db.insert_or_update(ClipAccess)
        .values(clip_id=clip.id, user_id=user.id, action=action.value, day=now.date(), at=now)
        .on_conflict_do_nothing()
    )


def record_play(user: User, clip_id: str) -> None:
    """The page's player started playing (any member who can see the clip)."""
    record(user, access.get_clip(user, clip_id), WatchAction.PLAYED)


def entries(user: User, clip_id: str) -> Sequence[ClipAccess]:
    """The clip's log, newest first: for its uploader only (404 for everyone else)."""
    clip = access.get_clip(user, clip_id)
    if clip.uploaded_by_id != user.id:
        raise NotFound("Only the person who uploaded this clip sees who watched it.")
    return _log_of(clip)


def for_clip_page(user: User, clip: Clip) -> Sequence[ClipAccess] | None:
    """The log the clip page shows its uploader; None for everyone else (no section)."""
    if clip.uploaded_by_id != user.id:
        return None
    return _log_of(clip)


def _log_of(clip: Clip) -> Sequence[ClipAccess]:
    return db.session.scalars(
        select(ClipAccess)
        .where(ClipAccess.clip_id == clip.id)
        .options(joinedload(ClipAccess.user))
        .order_by(ClipAccess.at.desc())
    ).all()
