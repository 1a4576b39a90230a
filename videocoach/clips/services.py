"""Clips: creation from an uploaded file, listing, editing, deletion, media lookup, retry.

No HTTP here. The processing itself lives in workers/pipeline.py.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from videocoach import access, db, limits, live, transaction
from videocoach.accounts.models import User
from videocoach.clips import dispatch, files, redaction
from videocoach.clips.models import AssetKind, Clip, ClipAsset, ClipStatus, ClipView, Visibility
from videocoach.config import current_settings
from videocoach.db import utcnow
from videocoach.errors import Invalid, NotFound
from videocoach.notifications import services as notifications
from videocoach.storage import StoredObject, current_storage

log = logging.getLogger(__name__)

TITLE_MAX = limits.TITLE_MAX
UNTITLED = "Untitled lesson"


def parse_visibility(raw: str | None) -> str:
    try:
        return Visibility((raw or Visibility.PRIVATE.value).strip().lower()).value
    except ValueError:
        raise Invalid(
            "Visibility must be private or shared.",
            fields={"visibility": "Choose private (only you) or shared (your partnership)."},
        ) from None


def parse_recorded_on(raw: str | date | None) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise Invalid(
            "The recording date must look like 2026-09-30.",
            fields={"recorded_on": "Use the form YYYY-MM-DD."},
        ) from None


def clean_title(raw: str | None, filename: str = "") -> str:
    """The title as typed, else the file's name without its extension (cut to fit: the
    uploader did not type it), else UNTITLED."""
    title = limits.one_line(raw)
    if title:
        return limits.check_length(title, TITLE_MAX, "title", "The title")
    stem = Path(limits.clean_filename(filename, fallback="")).stem.strip()
    return stem[:TITLE_MAX].rstrip() or UNTITLED


def require_uploader(user: User, partnership_id: str) -> None:
    """Members may upload; everyone else learns nothing (404) before a byte is stored."""
    access.get_membership(user, partnership_id)


def create_clip(
    user: User,
    partnership_id: str,
    original: Path | Sequence[StoredObject],
    *,
    filename: str,
    title: str | None,
    visibility: str | None,
    recorded_on: str | date | None = None,
) -> Clip:
    """Turn a fully received upload into a clip: store the original (a file, moved into
    storage, or stored objects that are its pieces in order), then queue processing (once
    the caller commits)."""
    require_uploader(user, partnership_id)
    clip = Clip(
        partnership_id=partnership_id,
        uploaded_by_id=user.id,
        title=clean_title(title, filename),
        visibility=parse_visibility(visibility),
        recorded_on=parse_recorded_on(recorded_on),
        original_filename=limits.clean_filename(filename),
        status=ClipStatus.QUEUED.value,
    )
    db.session.add(clip)
    db.session.flush()
    key = files.key(clip.id, files.ORIGINAL)
    storage = current_storage()
    if isinstance(original, Path):
        stored = storage.put_file(key, original, "application/octet-stream", move=True)
    else:
        stored = storage.put_concatenation(key, original, "application/octet-stream")
    clip.original_size = stored.size
    db.session.add(
        ClipAsset(
            clip_id=clip.id,
            kind=AssetKind.ORIGINAL.value,
            name=files.ORIGINAL,
            key=key,
            size=stored.size,
            sha256=stored.sha256,
        )
    )
    dispatch.dispatch(clip)  # after the commit: the worker must find the clip
    return clip


def list_clips(user: User, partnership_id: str) -> Sequence[Clip]:
    partnership = access.get_partnership(user, partnership_id)
    return db.session.scalars(
        access.visible_clips(user)
        .where(Clip.partnership_id == partnership.id)
        .order_by(Clip.created_at.desc())
    ).all()


def get_clip(user: User, clip_id: str) -> Clip:
    return access.get_clip(user, clip_id)


def mark_clip_seen(user: User, clip: Clip) -> None:
    """Remember this visit: the partnership home counts what is new since. One upsert, so
    two tabs (or a phone and a laptop) opening a clip for the first time at once cannot
    both insert the row (seen under load: a unique violation, a 500)."""
    now = utcnow()
    statement = db.insert_or_update(ClipView).values(user_id=user.id, clip_id=clip.id, seen_at=now)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[ClipView.user_id, ClipView.clip_id], set_={"seen_at": now}
        )
    )


def update_clip(user: User, clip_id: str, changes: dict[str, Any]) -> Clip:
    clip = access.get_own_clip(user, clip_id, "change")
    if "title" in changes and limits.one_line(changes["title"]):  # blank keeps the title
        clip.title = clean_title(changes["title"])
    if "visibility" in changes:
        was = clip.visibility
        clip.visibility = parse_visibility(changes["visibility"])
        if was != clip.visibility == Visibility.SHARED.value:
            db.session.flush()  # the members' access checks must see it shared
            notifications.clip_shared(clip, user)
        if was != clip.visibility:
            live.announce(live.clip_topic(clip.id), "access_changed", {})
    if "recorded_on" in changes:
        clip.recorded_on = parse_recorded_on(changes["recorded_on"])
    db.session.flush()
    return clip


def delete_clip(user: User, clip_id: str) -> None:
    """Delete the clip and every object it owns in storage and in local scratch space."""
    clip = access.get_own_clip(user, clip_id, "delete")
    removed = remove_clip(clip)
    log.info("clip %s deleted by %s (%d stored objects removed)", clip_id, user.id, removed)


def remove_clip(clip: Clip) -> int:
    """Delete the clip's stored objects, its scratch space and its rows (comments, log and
    all, by cascade): its uploader's "Delete clip" and retention. The stored objects removed."""
    removed = current_storage().delete_prefix(files.clip_prefix(clip.id))
    shutil.rmtree(files.scratch_dir(current_settings().data_dir, clip.id), ignore_errors=True)
    db.session.delete(clip)
    db.session.flush()
    live.announce(live.clip_topic(clip.id), "access_changed", {})
    return removed


def retry_clip(user: User, clip_id: str) -> Clip:
    """Run the pipeline again for a failed clip (steps already done are skipped), with a
    fresh count of attempts."""
    return requeue_failed(access.get_own_clip(user, clip_id, "retry"))


def requeue_failed(clip: Clip, *, even_if_hopeless: bool = False) -> Clip:
    """Queue a failed clip again with a fresh count of attempts: the uploader's "Try again"
    and the operator's `videocoach requeue`. A clip whose file itself is the problem is
    refused unless `even_if_hopeless` (an operator who changed what reads the file)."""
    if clip.status != ClipStatus.FAILED.value:
        raise Invalid("Only a clip whose processing failed can be tried again.", code="not_failed")
    if not clip.can_retry and not even_if_hopeless:
        raise Invalid(
            "Trying again cannot help: the problem is in the file itself. "
            "Upload another recording instead.",
            code="retry_cannot_help",
        )
    clip.status = ClipStatus.QUEUED.value
    clip.error = None
    clip.progress = 0.0
    clip.job_token = None
    clip.attempts = 0
    dispatch.dispatch(clip)
    return clip


def drop_replaced_quick_copy(clip: Clip) -> bool:
    """The web rendition replaces the fast path's remux, a second copy of the video as large
    as the upload that is never served again: forget the remux's row and commit, then delete
    the object, so no row ever points at a missing file. The object is deleted even when the
    row is gone already, which finishes a deletion that stopped between the two (deleting a
    missing object is not an error). Does nothing until the web rendition is recorded.
    Returns whether a row was removed."""
    if not any(asset.kind == AssetKind.WEB.value for asset in clip.assets):
        return False
    quick = next((a for a in clip.assets if a.kind == AssetKind.PLAYABLE.value), None)
    if quick is not None:
        clip.assets.remove(quick)
        transaction.commit()
    current_storage().delete(files.key(clip.id, files.PLAYABLE))
    return quick is not None


def find_media(user: User, clip_id: str, name: str) -> ClipAsset:
    """The stored object behind a media URL, after the access check (and, for members
    other than the uploader, the redaction's)."""
    clip = access.get_clip(user, clip_id)
    asset = files.asset_for(clip.assets, name)
    if asset is None or redaction.hides_file(clip, asset, user):
        raise NotFound("That file does not exist (yet).")
    return asset


@dataclass(frozen=True)
class Thumbnail:
    """One storyboard frame: a region of a sprite sheet."""

    sheet: str  # the media name, e.g. "storyboard/000.jpg"
    x: int
    y: int
    width: int
    height: int
    sheet_width: int
    sheet_height: int


def moment_thumbnail(clip: Clip, t_ms: int) -> Thumbnail | None:
    """The storyboard frame showing moment `t_ms`, once the storyboard exists."""
    interval, w, h = clip.storyboard_interval_s, clip.storyboard_thumb_w, clip.storyboard_thumb_h
    columns, rows = clip.storyboard_columns, clip.storyboard_rows
    if not (interval and w and h and columns and rows):
        return None
    index = max(0, t_ms) // (interval * 1000)
    if clip.duration_ms:
        index = min(index, max(0, (clip.duration_ms - 1) // (interval * 1000)))
    sheet, position = divmod(index, columns * rows)
    row, column = divmod(position, columns)
    return Thumbnail(
        sheet=files.storyboard_sheet(sheet),
        x=column * w,
        y=row * h,
        width=w,
        height=h,
        sheet_width=columns * w,
        sheet_height=rows * h,
    )
