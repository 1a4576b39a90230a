"""`videocoach reconcile [--apply]`: what housekeeping would find, and (with --apply) does.

Three kinds of leftovers:

- Stuck clips: waiting (queued or processing) with no live job holding them, and no
  recent hand-over; the rule of clips.dispatch.reconcile, which every worker already runs
  on its own every VIDEOCOACH_RECONCILE_SECONDS. --apply runs that same reconcile now.
- Orphaned stored objects: objects under `clips/` that no clip owns (its row is gone, or
  no ClipAsset row has the key), e.g. after a purge whose storage was unreachable.
  Objects of a clip a live job holds are never counted (the job is writing them), nor
  objects younger than `min_age` (an upload may be between storing its original and
  committing its row).
- Replaced quick copies: the fast path's remux (files.PLAYABLE) of a clip whose web
  rendition exists, left by clips processed before the pipeline deleted it once the web
  rendition was recorded: a second copy of the video, never served again. Clips a live
  job holds are left to the job.
- Abandoned uploads: resumable uploads past their expiry (the staged bytes of one that
  never finished, or the bookkeeping row of one that did), and staged files (in the
  data directory, or under `tus-staging/` in S3) with no upload row. --apply removes
  them as the workers' sweep does.

Listing changes nothing; --apply checks each object again just before deleting it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import aliased

from videocoach import db
from videocoach.clips import dispatch, files, staged_chunks, uploads
from videocoach.clips import services as clips
from videocoach.clips.models import AssetKind, Clip, ClipAsset, Upload
from videocoach.config import current_settings
from videocoach.db import utcnow
from videocoach.storage import current_storage
from videocoach.storage.base import ListedObject

log = logging.getLogger(__name__)

CLIPS_PREFIX = files.CLIPS_PREFIX
DEFAULT_MIN_AGE = timedelta(hours=1)
_BATCH = 500  # ids per IN (...) query


@dataclass(frozen=True)
class StuckClip:
    clip_id: str
    status: str
    step: str | None
    attempts: int
    waiting_since: datetime | None
    dispatched_at: datetime | None


@dataclass(frozen=True)
class Orphan:
    key: str
    size: int
    modified_at: datetime
    why: str  # "its clip no longer exists" | "no file of its clip"


@dataclass(frozen=True)
class ReplacedQuickCopy:
    clip_id: str
    key: str
    size: int | None


@dataclass(frozen=True)
class ExpiredUpload:
    upload_id: str
    offset: int
    length: int
    expires_at: datetime
    finished: bool  # became a clip: only the bookkeeping row is left


@dataclass(frozen=True)
class StrayStagedFile:
    name: str  # the upload id it was staged for
    size: int
    modified_at: datetime
    in_storage: bool = False  # chunk objects under tus-staging/<name>/, not a local file

    @property
    def what(self) -> str:
        if self.in_storage:
            return f"staged objects {staged_chunks.prefix(self.name)}"
        return f"staged file {self.name}"


@dataclass
class Findings:
    stuck: list[StuckClip] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    quick_copies: list[ReplacedQuickCopy] = field(default_factory=list)
    expired_uploads: list[ExpiredUpload] = field(default_factory=list)
    stray_staged_files: list[StrayStagedFile] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The findings for a person, one line each (ids, keys and counts)."""
        lines = [f"Stuck clips: {len(self.stuck)}"]
        for clip in self.stuck:
            step = f" ({clip.step})" if clip.step else ""
            lines.append(
                f"  {clip.clip_id}  {clip.status}{step}, waiting since "
                f"{_when(clip.waiting_since)}, last handed over {_when(clip.dispatched_at)}, "
                f"attempts {clip.attempts}"
            )
        lines.append(f"Orphaned stored objects: {len(self.orphans)}")
        lines += [f"  {o.key}  {o.size} bytes, {o.why}" for o in self.orphans]
        lines.append(f"Quick copies the web rendition replaced: {len(self.quick_copies)}")
        lines += [f"  {copy.key}  {copy.size} bytes" for copy in self.quick_copies]
        lines.append(
            f"Abandoned uploads: {len(self.expired_uploads)} expired, "
            f"{len(self.stray_staged_files)} staged files with no upload"
        )
        for upload in self.expired_uploads:
            state = "finished" if upload.finished else f"{upload.offset} of {upload.length} bytes"
            lines.append(
                f"  upload {upload.upload_id}  {state}, expired {_when(upload.expires_at)}"
            )
        lines += [f"  {stray.what}  {stray.size} bytes" for stray in self.stray_staged_files]
        return lines

    @property
    def empty(self) -> bool:
        return not (
            self.stuck
            or self.orphans
            or self.quick_copies
            or self.expired_uploads
            or self.stray_staged_files
        )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@dataclass
class Applied:
    handed_over: list[str] = field(default_factory=list)
    objects_deleted: int = 0
    quick_copies_deleted: int = 0
    uploads_removed: int = 0
    staged_files_removed: int = 0


def survey(min_age: timedelta = DEFAULT_MIN_AGE) -> Findings:
    """Everything reconcile would act on, now. Changes nothing."""
    now = utcnow()
    findings = Findings(
        stuck=stuck_clips(now),
        orphans=list(orphaned_objects(now - min_age)),
        quick_copies=replaced_quick_copies(now),
        expired_uploads=expired_uploads(now),
        stray_staged_files=stray_staged_files(now - min_age),
    )
    db.session.rollback()  # nothing was meant to change; end the read transaction
    return findings


def stuck_clips(now: datetime) -> list[StuckClip]:
    """The clips dispatch.reconcile() hands over again: waiting, no live job holds them,
    and their last hand-over is missing, older than the delay limit, or its job's
    heartbeat went stale. (Keep this in step with reconcile: test_reconcile checks it.)"""
    settings = current_settings()
    handed_over_long_ago = now - max(settings.processing_delay, settings.job_stale_after)
    stale = now - settings.job_stale_after
    clips = db.session.scalars(
        select(Clip)
        .where(
            Clip.status.in_(dispatch.WAITING),
            dispatch.unheld(now),
            or_(
                Clip.dispatched_at.is_(None),
                Clip.dispatched_at < handed_over_long_ago,
                Clip.heartbeat_at < stale,
            ),
        )
        .order_by(Clip.queued_at)
    ).all()
    return [
        StuckClip(
            clip_id=clip.id,
            status=clip.status,
            step=clip.step,
            attempts=clip.attempts,
            waiting_since=clip.queued_at,
            dispatched_at=clip.dispatched_at,
        )
        for clip in clips
    ]


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _owners(clip_ids: Iterable[str], now: datetime) -> tuple[set[str], set[str], set[str]]:
    """Of these clip ids: which exist, which a live job holds, and every key they own."""
    existing: set[str] = set()
    held: set[str] = set()
    keys: set[str] = set()
    for batch in _batches(sorted(set(clip_ids))):
        for clip_id, is_unheld in db.session.execute(
            select(Clip.id, dispatch.unheld(now)).where(Clip.id.in_(batch))
        ):
            existing.add(clip_id)
            if not is_unheld:
                held.add(clip_id)
        keys.update(db.session.scalars(select(ClipAsset.key).where(ClipAsset.clip_id.in_(batch))))
    return existing, held, keys


def _clip_id(key: str) -> str:
    return key.removeprefix(CLIPS_PREFIX).split("/", 1)[0]


def orphaned_objects(older_than: datetime) -> Iterator[Orphan]:
    """Stored objects under clips/ that no clip owns, last written before `older_than`."""
    listed: list[ListedObject] = [
        item
        for item in current_storage().list_objects(CLIPS_PREFIX)
        if item.modified_at < older_than
    ]
    existing, held, owned = _owners((_clip_id(item.key) for item in listed), utcnow())
    for item in sorted(listed, key=lambda item: item.key):
        clip_id = _clip_id(item.key)
        if clip_id in held or item.key in owned:
            continue
        why = "no file of its clip" if clip_id in existing else "its clip no longer exists"
        yield Orphan(item.key, item.size, item.modified_at, why)


def replaced_quick_copies(now: datetime) -> list[ReplacedQuickCopy]:
    """Fast-path remuxes of clips whose web rendition is recorded, unless a live job holds
    the clip (the job deletes it itself)."""
    web = aliased(ClipAsset)
    rows = db.session.execute(
        select(ClipAsset.clip_id, ClipAsset.key, ClipAsset.size)
        .join(Clip, Clip.id == ClipAsset.clip_id)
        .where(
            ClipAsset.kind == AssetKind.PLAYABLE.value,
            dispatch.unheld(now),
            exists().where(web.clip_id == ClipAsset.clip_id, web.kind == AssetKind.WEB.value),
        )
        .order_by(ClipAsset.key)
    )
    return [ReplacedQuickCopy(clip_id, key, size) for clip_id, key, size in rows]


def expired_uploads(now: datetime) -> list[ExpiredUpload]:
    rows = db.session.scalars(
        select(Upload).where(Upload.expires_at <= now).order_by(Upload.expires_at)
    ).all()
    return [
        ExpiredUpload(
            upload_id=row.id,
            offset=row.offset,
            length=row.length,
            expires_at=row.expires_at,
            finished=row.clip_id is not None,
        )
        for row in rows
    ]


def _known_uploads(upload_ids: Iterable[str]) -> set[str]:
    known: set[str] = set()
    for batch in _batches(sorted(set(upload_ids))):
        known.update(db.session.scalars(select(Upload.id).where(Upload.id.in_(batch))))
    return known


def stray_staged_files(older_than: datetime) -> list[StrayStagedFile]:
    """Staged bytes that belong to no upload row: files in the uploads staging folder and,
    when uploads are staged in S3, objects under tus-staging/."""
    folder = uploads.staging_dir()
    staged = {path.name: path for path in folder.iterdir() if path.is_file()}
    strays = []
    for name in sorted(set(staged) - _known_uploads(staged)):
        try:
            info = staged[name].stat()
        except FileNotFoundError:
            continue
        modified = datetime.fromtimestamp(info.st_mtime, UTC)
        if modified < older_than:
            strays.append(StrayStagedFile(name, info.st_size, modified))
    if uploads.stages_in_storage():
        staged = staged_chunks.staged_in_storage()
        for upload_id in sorted(set(staged) - _known_uploads(staged)):
            size, modified = staged[upload_id]
            if modified < older_than:
                strays.append(StrayStagedFile(upload_id, size, modified, in_storage=True))
    return strays


def apply(findings: Findings) -> Applied:
    """Act on what survey() found, checking each thing again first."""
    done = Applied()
    done.handed_over = dispatch.reconcile() if findings.stuck else []
    storage = current_storage()
    still_orphaned = _still_orphaned(findings.orphans)
    for orphan in still_orphaned:
        storage.delete(orphan.key)
        done.objects_deleted += 1
    if findings.quick_copies:
        done.quick_copies_deleted = _drop_quick_copies(findings.quick_copies)
    if findings.expired_uploads:
        done.uploads_removed = uploads.sweep_expired()
    folder = uploads.staging_dir()
    for stray in findings.stray_staged_files:
        if db.session.get(Upload, stray.name) is None:
            if stray.in_storage:
                staged_chunks.discard(stray.name)
            else:
                (folder / stray.name).unlink(missing_ok=True)
            done.staged_files_removed += 1
    db.session.rollback()
    log.warning(
        "reconcile --apply: handed over %s; deleted %d orphaned objects %s and %d replaced "
        "quick copies; removed %d expired uploads and %d stray staged files %s",
        done.handed_over or "none",
        done.objects_deleted,
        [orphan.key for orphan in still_orphaned] or "",
        done.quick_copies_deleted,
        done.uploads_removed,
        done.staged_files_removed,
        [stray.name for stray in findings.stray_staged_files] or "",
    )
    return done


def _drop_quick_copies(found: list[ReplacedQuickCopy]) -> int:
    """Drop each quick copy that is still replaced and unheld (checked again now)."""
    still = {copy.clip_id for copy in replaced_quick_copies(utcnow())}
    dropped = 0
    for clip_id in sorted(still & {copy.clip_id for copy in found}):
        clip = db.session.get(Clip, clip_id)
        if clip is not None and clips.drop_replaced_quick_copy(clip):
            dropped += 1
    return dropped


def _still_orphaned(orphans: list[Orphan]) -> list[Orphan]:
    """The orphans that are still orphans: a clip may have claimed its key since."""
    existing, held, owned = _owners((_clip_id(o.key) for o in orphans), utcnow())
    return [
        orphan
        for orphan in orphans
        if _clip_id(orphan.key) not in held
        and orphan.key not in owned
        and (orphan.why == "no file of its clip" or _clip_id(orphan.key) not in existing)
    ]
