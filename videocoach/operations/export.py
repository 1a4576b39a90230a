"""`videocoach export-partnership ID --to FILE.zip`: a partnership's record in one zip, for
a person who leaves (a teacher moving school takes their lessons and feedback along).

What goes in is what every member of the partnership sees (the rules of access.py, taken
for the partnership instead of for one member): its shared clips, their comments and
replies, its goals, next steps and the records of meetings on those clips. Private clips
and private notes belong to their author alone, so they stay out; `private_of` adds one
person's own private clips and notes (the operator exports on that person's behalf).
Soft-deleted comments stay out, as they do on every page.

Stored objects are copied into the zip in chunks (storage.open, local or S3), so a long
lesson never sits in memory; the zip is written beside its destination under a temporary
name and renamed into place only when it is complete, so a failed export leaves nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from videocoach import db
from videocoach.accounts.models import User
from videocoach.clips import files
from videocoach.clips.models import AssetKind, Clip, ClipAsset, Visibility
from videocoach.comments.models import Comment
from videocoach.db import utcnow
from videocoach.errors import Conflict, Invalid, NotFound
from videocoach.exports import services as exports
from videocoach.meetings import services as meetings
from videocoach.meetings.models import Meeting
from videocoach.operations import find_user
from videocoach.partnerships.models import Goal, Membership, NextStep, Partnership
from videocoach.storage import current_storage
from videocoach.storage.base import CHUNK_SIZE

log = logging.getLogger(__name__)

FORMAT = "videocoach-partnership-export"
VERSION = 1
# Video is compressed already: stored as is, deflating it would cost time and save nothing.
STORED_KINDS = {AssetKind.ORIGINAL.value, AssetKind.PLAYABLE.value, AssetKind.WEB.value}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


@dataclass
class ExportSummary:
    path: Path
    clips: int = 0
    comments: int = 0
    private_notes: int = 0
    goals: int = 0
    next_steps: int = 0
    meetings: int = 0
    media_files: int = 0
    media_bytes: int = 0
    missing: list[str] = field(default_factory=list)  # stored objects that were not there
    names: list[str] = field(default_factory=list)  # every entry of the zip, in order


@dataclass
class _ClipEntry:
    clip: Clip
    folder: str
    rows: list[exports.ExportRow]


def export_partnership(
    partnership_id: str,
    destination: Path,
    *,
    originals: bool = False,
    private_of: str | None = None,
    overwrite: bool = False,
) -> ExportSummary:
    """Write the partnership's zip to `destination`. Raises NotFound, Invalid or Conflict
    with a sentence (nothing written), or the storage's error (nothing left behind)."""
    partnership = db.session.get(Partnership, partnership_id)
    if partnership is None:
        raise NotFound(f"No partnership has the id {partnership_id}.")
    person = find_user(private_of) if private_of else None
    destination = Path(destination).absolute()
    if destination.is_dir():
        raise Invalid(f"{destination} is a directory; name the zip file to write.")
    if not destination.parent.is_dir():
        raise Invalid(f"The directory {destination.parent} does not exist.")
    if destination.exists() and not overwrite:
        raise Conflict(f"{destination} exists already; choose another name or pass --force.")

    entries = _clip_entries(partnership, person)
    summary = ExportSummary(path=destination)
    with (
        _atomic_file(destination) as handle,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive,
    ):
        writer = _Writer(archive, summary)
        _write_everything(writer, partnership, person, entries, originals, summary)
    log.info(
        "export-partnership: partnership %s to %s: %d clips, %d comments (%d private notes "
        "of user %s), %d goals, %d next steps, %d meetings, %d media files (%d bytes), "
        "%d missing",
        partnership.id,
        destination,
        summary.clips,
        summary.comments,
        summary.private_notes,
        person.id if person else "-",
        summary.goals,
        summary.next_steps,
        summary.meetings,
        summary.media_files,
        summary.media_bytes,
        len(summary.missing),
    )
    return summary


# --- what goes in ------------------------------------------------------------------------------


def _clip_entries(partnership: Partnership, person: User | None) -> list[_ClipEntry]:
    """The exported clips, each with its comments in time order (replies after their
    comment's moment, as on the clip page): access.visible_clips and visible_comments,
    for the partnership plus `person`'s own private material."""
    visible = Clip.visibility == Visibility.SHARED.value
    if person is not None:
        visible = or_(visible, Clip.uploaded_by_id == person.id)
    clips = db.session.scalars(
        select(Clip)
        .where(Clip.partnership_id == partnership.id, visible)
        .options(selectinload(Clip.assets))
        # Undated clips last on both databases (they sort NULLs differently).
        .order_by(Clip.recorded_on.is_(None), Clip.recorded_on, Clip.created_at)
    ).all()
    not_private = Comment.private.is_(False)
    comments = db.session.scalars(
        select(Comment)
        .where(
            Comment.clip_id.in_([clip.id for clip in clips]),
            Comment.deleted_at.is_(None),
            or_(not_private, Comment.author_id == person.id) if person else not_private,
        )
        .options(selectinload(Comment.goals), selectinload(Comment.author))
        .order_by(Comment.t_start_ms, Comment.created_at)
    ).all()
    by_clip: dict[str, list[Comment]] = {}
    for comment in comments:
        by_clip.setdefault(comment.clip_id, []).append(comment)
    return [
        _ClipEntry(
            clip=clip,
            folder=f"clips/{number:02d}-{_slug(clip)}/",
            rows=[exports.ExportRow(comment=c, clip=clip) for c in by_clip.get(clip.id, [])],
        )
        for number, clip in enumerate(clips, start=1)
    ]


def _slug(clip: Clip) -> str:
    """A folder name any unzip tool and file system accepts: date and title, ASCII."""
    title = _UNSAFE.sub("-", clip.title).strip("-.").lower()[:50].rstrip("-.") or "clip"
    return f"{clip.recorded_on.isoformat()}-{title}" if clip.recorded_on else title


def _write_everything(
    writer: _Writer,
    partnership: Partnership,
    person: User | None,
    entries: list[_ClipEntry],
    originals: bool,
    summary: ExportSummary,
) -> None:
    folder_of = {entry.clip.id: entry.folder for entry in entries}
    all_rows = [row for entry in entries for row in entry.rows]
    goals = db.session.scalars(
        select(Goal).where(Goal.partnership_id == partnership.id).order_by(Goal.created_at)
    ).all()
    steps = db.session.scalars(
        select(NextStep)
        .where(NextStep.partnership_id == partnership.id)
        .order_by(NextStep.created_at)
    ).all()
    # A meeting is on one clip and visible to whoever sees the clip (access.visible_meetings).
    meeting_rows = db.session.scalars(
        select(Meeting).where(Meeting.clip_id.in_(list(folder_of))).order_by(Meeting.created_at)
    ).all()

    writer.text("README.txt", _readme(partnership, person, originals))
    writer.json(
        "partnership.json",
        {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": _iso(utcnow()),
            "partnership": {
                "id": partnership.id,
                "name": partnership.name,
                "created_at": _iso(partnership.created_at),
                "archived_at": _iso(partnership.archived_at),
            },
            "members": _members(partnership),
            "private_material_of": person.name if person else None,
            "originals_included": originals,
            "clips": [
                {"id": entry.clip.id, "title": entry.clip.title, "folder": entry.folder}
                for entry in entries
            ],
        },
    )
    writer.json("comments.json", {"comments": _comment_tree(all_rows, folder_of)})
    writer.text("comments.csv", exports.to_csv(all_rows))
    writer.json("goals.json", {"goals": [_goal_json(goal, all_rows) for goal in goals]})
    writer.json("next_steps.json", {"next_steps": [_step_json(step) for step in steps]})
    writer.json(
        "meetings.json",
        {
            "meetings": [
                _meeting_json(meeting, folder_of, all_rows, steps) for meeting in meeting_rows
            ]
        },
    )
    for entry in entries:
        _write_clip(writer, entry, originals)

    summary.clips = len(entries)
    summary.comments = len(all_rows)
    summary.private_notes = sum(1 for row in all_rows if row.comment.private)
    summary.goals = len(goals)
    summary.next_steps = len(steps)
    summary.meetings = len(meeting_rows)


def _write_clip(writer: _Writer, entry: _ClipEntry, originals: bool) -> None:
    clip, folder = entry.clip, entry.folder
    media: list[tuple[str, ClipAsset]] = []
    video = files.best_video(clip.assets)
    if video is not None:
        media.append(("video.mp4", video))
    for asset in clip.assets:
        if asset.kind == AssetKind.POSTER.value:
            media.append(("poster.jpg", asset))
        elif asset.kind == AssetKind.CAPTIONS.value:
            media.append((asset.name, asset))  # captions/<track>-<language>.vtt
        elif asset.kind == AssetKind.ORIGINAL.value and originals:
            media.append((_original_name(clip), asset))
    written = [name for name, asset in media if writer.stored(folder + name, asset)]
    writer.text(folder + "comments.csv", exports.to_csv(entry.rows))
    writer.text(folder + "comments.vtt", exports.to_vtt(entry.rows))
    writer.json(folder + "clip.json", _clip_json(clip, written))


def _original_name(clip: Clip) -> str:
    suffix = Path(clip.original_filename or "").suffix.lower()
    return "original" + (suffix if _EXTENSION.match(suffix) else "")


# --- JSON shapes (times in seconds, like the API) ----------------------------------------------


def _iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="seconds")
    return moment.isoformat()


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _name(user: User | None) -> str | None:
    return user.name if user is not None else None


def _members(partnership: Partnership) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(User.name, Membership.role, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership.id)
        .order_by(Membership.created_at)
    ).all()
    return [{"name": name, "role": role, "member_since": _iso(since)} for name, role, since in rows]


def _comment_json(comment: Comment, folder: str) -> dict[str, Any]:
    return {
        "id": comment.id,
        "clip_id": comment.clip_id,
        "clip_folder": folder,
        "parent_id": comment.parent_id,
        "t_start": _seconds(comment.t_start_ms),
        "t_end": _seconds(comment.t_end_ms),
        "kind": comment.kind,
        "body": comment.body,
        "author": comment.author.name,
        "goals": [{"id": goal.id, "title": goal.title} for goal in comment.goals],
        "private": comment.private,
        "resolved": comment.resolved_at is not None,
        "created_at": _iso(comment.created_at),
        "edited_at": _iso(comment.edited_at),
    }


def _comment_tree(
    rows: Iterable[exports.ExportRow], folder_of: dict[str, str]
) -> list[dict[str, Any]]:
    """Comments with their replies inside them; a reply whose comment is not exported
    (deleted, or someone's private note) stands on its own, keeping its parent_id."""
    rows = list(rows)
    exported = {row.comment.id: _comment_json(row.comment, folder_of[row.clip.id]) for row in rows}
    top: list[dict[str, Any]] = []
    for row in rows:
        item = exported[row.comment.id]
        parent = exported.get(row.comment.parent_id or "")
        if parent is not None:
            parent.setdefault("replies", []).append(item)
        else:
            top.append(item)
    for item in exported.values():
        item.setdefault("replies", [])
    return top


def _goal_json(goal: Goal, rows: list[exports.ExportRow]) -> dict[str, Any]:
    created_by = db.session.get(User, goal.created_by_id) if goal.created_by_id else None
    return {
        "id": goal.id,
        "title": goal.title,
        "description": goal.description,
        "success_criteria": goal.success_criteria,
        "status": goal.status,
        "created_by": _name(created_by),
        "created_at": _iso(goal.created_at),
        "updated_at": _iso(goal.updated_at),
        "met_at": _iso(goal.met_at),
        "evidence_comment_ids": [
            row.comment.id for row in rows if any(g.id == goal.id for g in row.comment.goals)
        ],
    }


def _step_json(step: NextStep) -> dict[str, Any]:
    created_by = db.session.get(User, step.created_by_id) if step.created_by_id else None
    return {
        "id": step.id,
        "text": step.text,
        "goal_id": step.goal_id,
        "owner": _name(step.owner),
        "created_by": _name(created_by),
        "meeting_id": step.meeting_id,
        "due_on": _iso(step.due_on),
        "done_at": _iso(step.done_at),
        "created_at": _iso(step.created_at),
    }


def _meeting_json(
    meeting: Meeting,
    folder_of: dict[str, str],
    rows: list[exports.ExportRow],
    steps: Iterable[NextStep],
) -> dict[str, Any]:
    """The meeting's record: who took part, its notes, what was agreed and written in it."""
    during = [
        row.comment.id
        for row in rows
        if row.comment.clip_id == meeting.clip_id
        and row.comment.created_at >= meeting.created_at
        and (meeting.ended_at is None or row.comment.created_at <= meeting.ended_at)
    ]
    notes_by = (
        db.session.get(User, meeting.notes_updated_by_id) if meeting.notes_updated_by_id else None
    )
    return {
        "id": meeting.id,
        "clip_id": meeting.clip_id,
        "clip_folder": folder_of[meeting.clip_id],
        "started_by": _name(meeting.started_by),
        "started_at": _iso(meeting.created_at),
        "ended_at": _iso(meeting.ended_at),
        "participants": [person["name"] for person in meetings.participants(meeting.id)],
        "notes": meeting.notes,
        "notes_updated_by": _name(notes_by),
        "notes_updated_at": _iso(meeting.notes_updated_at),
        "next_step_ids": [step.id for step in steps if step.meeting_id == meeting.id],
        "comment_ids": during,
    }


def _clip_json(clip: Clip, written: list[str]) -> dict[str, Any]:
    uploader = db.session.get(User, clip.uploaded_by_id)
    return {
        "id": clip.id,
        "title": clip.title,
        "recorded_on": _iso(clip.recorded_on),
        "uploaded_by": _name(uploader),
        "uploaded_at": _iso(clip.created_at),
        "visibility": clip.visibility,
        "status": clip.status,
        "error": clip.error,
        "original_filename": clip.original_filename,
        "original_size": clip.original_size,
        "original_sha256": clip.original_sha256,
        "duration": _seconds(clip.duration_ms),
        "width": clip.width,
        "height": clip.height,
        "fps": clip.fps,
        "files": [*written, "comments.csv", "comments.vtt"],
    }


# --- the zip -----------------------------------------------------------------------------------


class _Writer:
    """Adds entries to the zip and records them in the summary."""

    def __init__(self, archive: zipfile.ZipFile, summary: ExportSummary):
        self.archive = archive
        self.summary = summary
        self.when = utcnow().timetuple()[:6]
        self.storage = current_storage()

    def _info(self, name: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.when)  # type: ignore[arg-type]
        info.compress_type = compress
        info.external_attr = 0o644 << 16
        return info

    def text(self, name: str, body: str) -> None:
        self.archive.writestr(self._info(name, zipfile.ZIP_DEFLATED), body.encode("utf-8"))
        self.summary.names.append(name)

    def json(self, name: str, value: Any) -> None:
        self.text(name, json.dumps(value, ensure_ascii=False, indent=2) + "\n")

    def stored(self, name: str, asset: ClipAsset) -> bool:
        """Copy a stored object into the zip, a chunk at a time. False (and noted in the
        summary) when the object is missing from storage."""
        compress = zipfile.ZIP_STORED if asset.kind in STORED_KINDS else zipfile.ZIP_DEFLATED
        info = self._info(name, compress)
        try:
            # The size decides whether the entry needs ZIP64 (over 2 GiB) before writing.
            info.file_size = self.storage.size(asset.key)
            source = self.storage.open(asset.key)
        except FileNotFoundError:
            log.warning("export: stored object %s is missing; left out", asset.key)
            self.summary.missing.append(name)
            return False
        with contextlib.closing(source), self.archive.open(info, "w") as target:
            _copy(source, target)
        self.summary.names.append(name)
        self.summary.media_files += 1
        self.summary.media_bytes += info.file_size
        return True


def _copy(source: BinaryIO, target: BinaryIO) -> None:
    shutil.copyfileobj(source, target, CHUNK_SIZE)


@contextlib.contextmanager
def _atomic_file(destination: Path) -> Iterator[BinaryIO]:
    """A file beside `destination` that becomes it only once the block ends without an
    error (flushed to disk, then renamed); on any error, or Ctrl+C, it is removed. Mode
    0600 (mkstemp's): the zip holds private lessons."""
    fd, name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial"
    )
    staging = Path(name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, destination)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


# --- README.txt --------------------------------------------------------------------------------


def _readme(partnership: Partnership, person: User | None, originals: bool) -> str:
    private = (
        f"Also included: the private clips and private notes of {person.name} (their own;\n"
        "nobody else saw them). Everyone else's private clips and notes are not here.\n"
        if person
        else "Private clips and private notes are not here: they belong to their author\n"
        "alone, and this export is what the partnership shares.\n"
    )
    original = (
        "  original.<ext>   the file as it was uploaded, byte for byte\n" if originals else ""
    )
    return f"""videocoach export of the partnership "{partnership.name}"
Exported {_iso(utcnow())} (UTC) by the operator of the videocoach service.

What is in this archive
-----------------------
The partnership's shared lesson clips with their comments and replies, its goals, next
steps and the records of its review meetings: what every member of the partnership sees.
{private}Deleted comments are not here.

Layout
------
  README.txt         this file
  partnership.json   the partnership, its members (name and role) and the list of clips
  comments.json      every comment, replies nested inside the comment they answer
  comments.csv       every comment as a spreadsheet (one row each; reply_to = the id
                     of the comment a reply answers)
  goals.json         the goals, with the ids of the comments tied to each
  next_steps.json    the agreed next steps
  meetings.json      review meetings: when, who took part, notes, next steps agreed
                     and the ids of the comments written during the meeting
  clips/NN-<date>-<title>/    one folder per clip, oldest recording first:
    video.mp4        the lesson (H.264 + AAC: plays in any browser or video player)
    poster.jpg       a still image of the lesson
{original}    captions/*.vtt   caption tracks that came with the upload, if any
    comments.csv     this clip's comments as a spreadsheet
    comments.vtt     this clip's comments as WebVTT subtitles: open video.mp4 in a player
                     such as VLC and add this file as subtitles to see each comment at
                     its moment of the lesson
    clip.json        the clip's facts: title, date, who uploaded it, duration, files

Times in the JSON files are seconds from the start of the clip; dates and moments are
ISO 8601 in UTC. CSV files are UTF-8; a cell that would start like a spreadsheet formula
starts with an apostrophe instead. A clip whose processing had not finished may have no
video.mp4 or poster.jpg.
"""
