"""Take my data: "Download everything I own" (issue 14).

A person asks on their account page; a worker builds one zip of what is theirs (their
clips with the web rendition, and the original where retention kept it; the comments and
private notes they wrote; the goals and next steps they wrote in their partnerships), as
JSON, CSV and WebVTT, recording its progress; the zip goes to storage and the page offers
it through a one-time link: a signed token, valid 24 hours, that works once, and only for
the person it was made for. A used or expired link answers 410 with a page that says so;
the zip is deleted from storage when it has been downloaded or has expired.

What goes in is chosen through videocoach.access, as every page's content is: nothing of
anyone else's (their comments, their private clips) is in a person's zip.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from videocoach import access, db, jobs, transaction
from videocoach.accounts.models import User
from videocoach.clips import files
from videocoach.clips.models import AssetKind, Clip
from videocoach.comments.models import Comment
from videocoach.config import current_settings
from videocoach.db import utcnow
from videocoach.errors import DomainError, NotFound
from videocoach.exports import services as exports
from videocoach.partnerships.models import Goal, NextStep, Partnership
from videocoach.storage import current_storage
from videocoach.takeout.models import DataExport, ExportStatus

log = logging.getLogger(__name__)

BUILD_DATA_EXPORT = "videocoach.build_data_export"
LINK_VALID = timedelta(hours=24)
DOWNLOAD_GRACE = timedelta(hours=1)
FORMAT = "videocoach-personal-export"
VERSION = 1
EXPORTS_PREFIX = "exports/"  # every export zip in storage lies under it
# Video is compressed already: stored as is, deflating it would cost time and save nothing.
STORED_KINDS = {AssetKind.ORIGINAL.value, AssetKind.WEB.value, AssetKind.PLAYABLE.value}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_LINK_SALT = "data-export-download"


class Gone(DomainError):
    """The one-time link was used already, or its 24 hours are over."""

    status = 410
    code = "gone"
    default_message = "This download link no longer works."


# --- asking and following ---------------------------------------------------------------


def request_export(user: User) -> DataExport:
    """Queue a new export of everything `user` owns, unless one is being built already
    (that one is returned: asking twice makes one zip)."""
    running = db.session.scalar(
        select(DataExport).where(
            DataExport.user_id == user.id,
            DataExport.status.in_([ExportStatus.QUEUED.value, ExportStatus.BUILDING.value]),
        )
    )
    if running is not None:
        return running
    export = DataExport(user_id=user.id)
    db.session.add(export)
    db.session.flush()
    jobs.enqueue_after_commit(BUILD_DATA_EXPORT, export.id)
    log.info("data export %s requested by %s", export.id, user.id)
    return export


def get_export(user: User, export_id: str) -> DataExport:
    """The person's own export; anyone else's does not exist (404), site admins included."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.user_id != user.id:
        raise NotFound("That export does not exist.")
    return export


def latest_export(user: User) -> DataExport | None:
    """The person's newest export, for their account page."""
    return db.session.scalar(
        select(DataExport)
        .where(DataExport.user_id == user.id)
        .order_by(DataExport.created_at.desc())
        .limit(1)
    )


def link_state(export: DataExport, now: datetime | None = None) -> str:
    """What the page says of the link: building, failed, ready, downloaded or expired."""
    now = now or utcnow()
    if export.status != ExportStatus.READY.value:
        return export.status
    if export.downloaded_at is not None:
        return "downloaded"
    if export.expires_at is None or export.expires_at <= now:
        return "expired"
    return "ready"


# --- the one-time link ------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_LINK_SALT)


def download_token(export: DataExport) -> str:
    """The signed token of the export's link (names the export and its owner)."""
    return _serializer().dumps({"e": export.id, "u": export.user_id})


def claim_download(user: User, token: str, now: datetime | None = None) -> DataExport:
    """The export the link names, for its owner, marked downloaded (in the same UPDATE
    that checks it was not: two requests at once cannot both have it). NotFound for a
    token that is not ours or not the caller's; Gone once used or past 24 hours."""
    now = now or utcnow()
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise NotFound("That download link does not exist.") from None
    if not isinstance(payload, dict) or payload.get("u") != user.id:
        raise NotFound("That download link does not exist.")
    export = get_export(user, str(payload.get("e")))
    state = link_state(export, now)
    if state in {"downloaded", "expired"}:
        raise Gone(_gone_message(state))
    if state != "ready":
        raise NotFound("That export is not ready.")
    claimed = db.session.execute(
        update(DataExport)
        .where(DataExport.id == export.id, DataExport.downloaded_at.is_(None))
        .values(downloaded_at=now)
    )
    if claimed.rowcount != 1:
        raise Gone(_gone_message("downloaded"))
    transaction.commit()
    db.session.refresh(export)
    log.info("data export %s downloaded by its owner", export.id)
    return export


def _gone_message(state: str) -> str:
    if state == "downloaded":
        return (
            "This download link has been used already: each link works once, so that a "
            "copy of your data cannot be fetched again by someone who finds it."
        )
    return "This download link has expired: each link works for 24 hours after it is made."


def forget_zip(export: DataExport) -> None:
    """Delete the zip from storage (downloaded, or expired); the row stays as a record."""
    if export.key:
        key, export.key = export.key, None
        transaction.commit()
        current_storage().delete(key)


def sweep_expired(now: datetime | None = None) -> int:
    """Delete zips whose link expired or was used (a worker's periodic pass). Returns how
    many were deleted."""
    now = now or utcnow()
    stale = db.session.scalars(
        select(DataExport).where(
            DataExport.key.is_not(None),
            # A downloaded zip stays a little while: its download may still be running.
            (DataExport.expires_at <= now) | (DataExport.downloaded_at <= now - DOWNLOAD_GRACE),
        )
    ).all()
    for export in stale:
        forget_zip(export)
        log.info("data export %s: zip deleted (downloaded or expired)", export.id)
    return len(stale)


# --- building ---------------------------------------------------------------------------


def build(export_id: str) -> None:
    """The worker's job: write the zip, store it, record it ready (or failed)."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.status not in {
        ExportStatus.QUEUED.value,
        ExportStatus.BUILDING.value,
    }:
        return
    user = db.session.get(User, export.user_id)
    assert user is not None  # the export is deleted with its owner
    export.status = ExportStatus.BUILDING.value
    export.progress = 0.0
    transaction.commit()
    folder = current_settings().data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=f"{export.id}.", suffix=".zip")  # 0600
    path = Path(name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            write_zip(user, handle, lambda done: _progress(export, done))
        key = f"{EXPORTS_PREFIX}{export.id}.zip"
        stored = current_storage().put_file(key, path, "application/zip", move=True)
    except Exception:
        db.session.rollback()
        export.status = ExportStatus.FAILED.value
        export.error = (
            "The export could not be built. Ask for a new one; if that fails too, tell "
            "your administrator."
        )
        transaction.commit()
        log.exception("data export %s failed", export.id)
        raise
    finally:
        path.unlink(missing_ok=True)
    now = utcnow()
    export.key, export.size = stored.key, stored.size
    export.status = ExportStatus.READY.value
    export.progress = 1.0
    export.ready_at = now
    export.expires_at = now + LINK_VALID
    transaction.commit()
    log.info("data export %s ready (%d bytes)", export.id, stored.size)


def _progress(export: DataExport, done: float) -> None:
    export.progress = round(min(max(done, 0.0), 0.99), 3)
    transaction.commit()


def _slug(clip: Clip) -> str:
    title = _UNSAFE.sub("-", clip.title).strip("-.").lower()[:50].rstrip("-.") or "clip"
    day = (clip.recorded_on or clip.created_at.date()).isoformat()
    return f"{day}-{title}-{clip.id[:8]}"


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="seconds")
    return moment.isoformat()


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list):
        value = "; ".join(str(item) for item in value)
    text = str(value)
    # Spreadsheets run cells that start like formulas; a leading quote keeps them text.
    return "'" + text if text.startswith(exports.FORMULA_STARTS) else text


def _what_is_theirs(user: User) -> dict[str, Any]:
    """Everything the zip holds, chosen through access.py."""
    clips = db.session.scalars(
        access.visible_clips(user)
        .where(Clip.uploaded_by_id == user.id)
        .options(selectinload(Clip.assets))
        .order_by(Clip.created_at)
    ).all()
    comments = db.session.scalars(
        access.visible_comments(user)
        .where(Comment.author_id == user.id)
        .options(selectinload(Comment.goals), selectinload(Comment.author))
        .order_by(Comment.clip_id, Comment.t_start_ms, Comment.created_at)
    ).all()
    commented_clip_ids = {comment.clip_id for comment in comments} - {c.id for c in clips}
    other_clips = (
        db.session.scalars(access.visible_clips(user).where(Clip.id.in_(commented_clip_ids))).all()
        if commented_clip_ids
        else []
    )
    goals = db.session.scalars(
        access.visible_goals(user).where(Goal.created_by_id == user.id).order_by(Goal.created_at)
    ).all()
    steps = db.session.scalars(
        access.visible_next_steps(user)
        .where(NextStep.created_by_id == user.id)
        .order_by(NextStep.created_at)
    ).all()
    partnership_ids = {c.partnership_id for c in [*clips, *other_clips]}
    partnership_ids |= {g.partnership_id for g in goals} | {s.partnership_id for s in steps}
    names = dict(
        db.session.execute(
            access.visible_partnerships(user)
            .where(Partnership.id.in_(partnership_ids))
            .with_only_columns(Partnership.id, Partnership.name)
        ).all()
    )
    return {
        "clips": list(clips),
        "other_clips": list(other_clips),
        "comments": list(comments),
        "goals": list(goals),
        "steps": list(steps),
        "partnerships": names,
    }


def write_zip(user: User, handle: Any, progress: Callable[[float], None]) -> None:
    """Write the person's zip into `handle` (a binary file), calling `progress` with the
    share done (media bytes count most)."""
    data = _what_is_theirs(user)
    clips: list[Clip] = data["clips"]
    other_clips: list[Clip] = data["other_clips"]
    partnerships: dict[str, str] = data["partnerships"]
    folder_of = {clip.id: f"clips/{_slug(clip)}/" for clip in [*clips, *other_clips]}
    clip_by_id = {clip.id: clip for clip in [*clips, *other_clips]}
    storage = current_storage()
    media = []  # (zip name, asset)
    for clip in clips:
        video = files.best_video(clip.assets)
        if video is not None:
            media.append((folder_of[clip.id] + "video.mp4", video))
        original = next((a for a in clip.assets if a.kind == AssetKind.ORIGINAL.value), None)
        if original is not None:
            media.append((folder_of[clip.id] + _original_name(clip), original))
    total = sum(asset.size or 0 for _, asset in media) or 1
    done = 0
    when = utcnow().timetuple()[:6]

    def info(name: str, compress: int) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, date_time=when)  # type: ignore[arg-type]
        entry.compress_type = compress
        entry.external_attr = 0o644 << 16
        return entry

    comment_rows = [
        {
            "id": c.id,
            "clip_id": c.clip_id,
            "clip_title": clip_by_id[c.clip_id].title,
            "clip_folder": folder_of[c.clip_id],
            "partnership": partnerships.get(clip_by_id[c.clip_id].partnership_id),
            "reply_to": c.parent_id,
            "t_start": _seconds(c.t_start_ms),
            "t_end": _seconds(c.t_end_ms),
            "kind": c.kind,
            "body": c.body,
            "goals": [goal.title for goal in c.goals],
            "private_note": c.private,
            "resolved": c.resolved_at is not None,
            "created_at": _iso(c.created_at),
            "edited_at": _iso(c.edited_at),
        }
        for c in data["comments"]
    ]
    clip_rows = [
        {
            "id": clip.id,
            "title": clip.title,
            "folder": folder_of[clip.id],
            "partnership": partnerships.get(clip.partnership_id),
            "recorded_on": _iso(clip.recorded_on),
            "uploaded_at": _iso(clip.created_at),
            "visibility": clip.visibility,
            "status": clip.status,
            "duration": _seconds(clip.duration_ms),
            "original_filename": clip.original_filename,
            "original_kept": any(a.kind == AssetKind.ORIGINAL.value for a in clip.assets),
        }
        for clip in clips
    ]
    goal_rows = [
        {
            "id": goal.id,
            "partnership": partnerships.get(goal.partnership_id),
            "title": goal.title,
            "description": goal.description,
            "success_criteria": goal.success_criteria,
            "status": goal.status,
            "created_at": _iso(goal.created_at),
            "met_at": _iso(goal.met_at),
        }
        for goal in data["goals"]
    ]
    step_rows = [
        {
            "id": step.id,
            "partnership": partnerships.get(step.partnership_id),
            "text": step.text,
            "goal": step.goal.title if step.goal else None,
            "due_on": _iso(step.due_on),
            "done_at": _iso(step.done_at),
            "created_at": _iso(step.created_at),
        }
        for step in data["steps"]
    ]

    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as z:

        def text(name: str, body: str) -> None:
            z.writestr(info(name, zipfile.ZIP_DEFLATED), body.encode("utf-8"))

        def as_json(name: str, value: Any) -> None:
            text(name, json.dumps(value, ensure_ascii=False, indent=2) + "\n")

        text("README.txt", _readme(user))
        as_json(
            "account.json",
            {
                "format": FORMAT,
                "version": VERSION,
                "exported_at": _iso(utcnow()),
                "name": user.name,
                "email": user.email,
                "member_since": _iso(user.created_at),
            },
        )
        as_json("clips.json", {"clips": clip_rows})
        text("clips.csv", _csv(CLIP_COLUMNS, clip_rows))
        as_json("comments.json", {"comments": comment_rows})
        text("comments.csv", _csv(COMMENT_COLUMNS, comment_rows))
        as_json("goals.json", {"goals": goal_rows})
        text("goals.csv", _csv(GOAL_COLUMNS, goal_rows))
        as_json("next_steps.json", {"next_steps": step_rows})
        text("next_steps.csv", _csv(STEP_COLUMNS, step_rows))
        by_clip: dict[str, list[exports.ExportRow]] = {}
        for comment in data["comments"]:
            row = exports.ExportRow(comment=comment, clip=clip_by_id[comment.clip_id])
            by_clip.setdefault(comment.clip_id, []).append(row)
        for clip_id, rows in by_clip.items():
            text(folder_of[clip_id] + "comments.vtt", exports.to_vtt(rows))
        progress(0.05)
        for name, asset in media:
            compress = zipfile.ZIP_STORED if asset.kind in STORED_KINDS else zipfile.ZIP_DEFLATED
            entry = info(name, compress)
            try:
                entry.file_size = storage.size(asset.key)
                source = storage.open(asset.key)
            except FileNotFoundError:
                log.warning("data export: stored object %s is missing; left out", asset.key)
                continue
            with contextlib.closing(source), z.open(entry, "w") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
            done += asset.size or 0
            progress(0.05 + 0.9 * done / total)


CLIP_COLUMNS = [
    "id", "title", "folder", "partnership", "recorded_on", "uploaded_at", "visibility",
    "status", "duration", "original_filename", "original_kept",
]  # fmt: skip
COMMENT_COLUMNS = [
    "id", "clip_id", "clip_title", "clip_folder", "partnership", "reply_to", "t_start",
    "t_end", "kind", "body", "goals", "private_note", "resolved", "created_at", "edited_at",
]  # fmt: skip
GOAL_COLUMNS = [
    "id", "partnership", "title", "description", "success_criteria", "status", "created_at",
    "met_at",
]  # fmt: skip
STEP_COLUMNS = ["id", "partnership", "text", "goal", "due_on", "done_at", "created_at"]


def _original_name(clip: Clip) -> str:
    suffix = Path(clip.original_filename or "").suffix.lower()
    return "original" + (suffix if _EXTENSION.match(suffix) else "")


def _readme(user: User) -> str:
    return f"""Everything {user.name} owns on videocoach
Exported {_iso(utcnow())} (UTC), at their request.

What is in this archive
-----------------------
What you put into videocoach yourself: the lesson clips you uploaded, the comments and
private notes you wrote (on your clips and on your partners'), and the goals and next
steps you wrote in your partnerships. What other people wrote is theirs and is not here.

  README.txt          this file
  account.json        your name, email address and since when you have an account
  clips.json, .csv    your clips: title, partnership, dates, length
  comments.json, .csv every comment and private note you wrote (private_note = yes:
                      only you ever saw it; reply_to = the id of the comment it answers)
  goals.json, .csv    the goals you wrote
  next_steps.json, .csv  the next steps you wrote
  clips/<date>-<title>-<id>/   one folder per clip:
    video.mp4         the lesson (H.264 + AAC: plays in any browser or video player),
                      for clips you uploaded
    original.<ext>    the file as you uploaded it, where it is still kept (your school
                      may delete originals after a while)
    comments.vtt      your comments on that clip as WebVTT subtitles: open video.mp4 in
                      a player such as VLC and add this file as subtitles

Times in the JSON files are seconds from the start of the clip; dates and moments are
ISO 8601 in UTC. CSV files are UTF-8; a cell that would start like a spreadsheet formula
starts with an apostrophe instead.
"""
