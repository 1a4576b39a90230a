"""Exports of comments: CSV, WebVTT and printable summaries, per clip and per goal.

Everything goes through the access module: a private note is exported only to its author.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from videocoach import access, db
from videocoach.accounts.models import User
from videocoach.clips.models import Clip
from videocoach.comments.models import Comment, comment_goals
from videocoach.media import webvtt
from videocoach.media.storyboard import vtt_timestamp
from videocoach.partnerships.models import Goal

CSV_COLUMNS = [
    "clip",
    "recorded_on",
    "start",
    "end",
    "kind",
    "goals",
    "author",
    "comment",
    "reply_to",
    "private",
    "resolved",
    "written_at",
]
# Spreadsheets run cells that start like formulas; a leading quote keeps them text (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ExportRow:
    comment: Comment
    clip: Clip


def clock(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _load(user: User, query) -> list[ExportRow]:  # type: ignore[no-untyped-def]
    rows = db.session.execute(
        query.join(Clip, Clip.id == Comment.clip_id)
        .add_columns(Clip)
        .options(selectinload(Comment.goals), selectinload(Comment.author))
        .order_by(Clip.recorded_on, Clip.created_at, Comment.t_start_ms, Comment.created_at)
    ).all()
    return [ExportRow(comment=comment, clip=clip) for comment, clip in rows]


def clip_rows(user: User, clip_id: str) -> tuple[Clip, list[ExportRow]]:
    clip = access.get_clip(user, clip_id)
    return clip, _load(user, access.visible_comments(user).where(Comment.clip_id == clip.id))


def goal_rows(user: User, goal_id: str) -> tuple[Goal, list[ExportRow]]:
    goal = access.get_goal(user, goal_id)
    linked = select(comment_goals.c.comment_id).where(comment_goals.c.goal_id == goal.id)
    return goal, _load(user, access.visible_comments(user).where(Comment.id.in_(linked)))


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(rows: Iterable[ExportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        comment, clip = row.comment, row.clip
        writer.writerow(
            [
                _cell(clip.title),
                clip.recorded_on.isoformat() if clip.recorded_on else "",
                clock(comment.t_start_ms),
                clock(comment.t_end_ms),
                comment.kind,
                _cell("; ".join(goal.title for goal in comment.goals)),
                _cell(comment.author.name),
                _cell(comment.body),
                comment.parent_id or "",
                "yes" if comment.private else "",
                "yes" if comment.resolved_at else "",
                comment.created_at.isoformat(timespec="seconds"),
            ]
        )
    return out.getvalue()


def to_vtt(rows: Iterable[ExportRow]) -> str:
    """One cue per comment, so feedback plays as subtitles in any player."""
    cues = ["WEBVTT", ""]
    for number, row in enumerate(rows, start=1):
        comment = row.comment
        end_ms = comment.t_end_ms or comment.t_start_ms + 4000
        if row.clip.duration_ms:
            end_ms = min(end_ms, row.clip.duration_ms)
        end_ms = max(end_ms, comment.t_start_ms + 1)
        # Escaped: cue text is markup. The name too, and made one line: names stored
        # before names were cleaned may still hold a line break.
        voice = webvtt.annotation(comment.author.name)
        speaker = f"<v {voice}>" if voice else ""
        cues += [
            str(number),
            f"{vtt_timestamp(comment.t_start_ms / 1000)} --> {vtt_timestamp(end_ms / 1000)}",
            f"{speaker}[{comment.kind}] {webvtt.cue_text(comment.body)}",
            "",
        ]
    return "\n".join(cues)
