"""Timestamped comments on clips, tied to goals. No HTTP here.

Times arrive in seconds and are stored as integer milliseconds.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import select

from videocoach import access, db, limits, live
from videocoach.accounts.models import User
from videocoach.clips.models import Clip, Visibility
from videocoach.comments.formatting import BODY_MAX, body_html, clean_body
from videocoach.comments.models import Comment, CommentKind, comment_goals
from videocoach.db import utcnow
from videocoach.errors import Forbidden, Invalid
from videocoach.notifications import services as notifications
from videocoach.partnerships.models import Goal

KINDS = [kind.value for kind in CommentKind]


def _seconds_to_ms(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{field} must be a number of seconds.", fields={field: "Not a number."})
    if value < 0:
        raise Invalid(f"{field} cannot be negative.", fields={field: "Cannot be negative."})
    return round(value * 1000)


def _check_times(clip: Clip, start_ms: int, end_ms: int | None) -> None:
    duration = clip.duration_ms if clip.duration_ms is not None else limits.MOMENT_MAX_MS
    if start_ms > duration:
        raise Invalid(
            "That moment is past the end of the clip.",
            fields={"t_start": f"Must be at most {duration / 1000:g} s."},
        )
    if end_ms is not None:
        if end_ms <= start_ms:
            raise Invalid(
                "A range must end after it starts.", fields={"t_end": "Must be after t_start."}
            )
        if end_ms > duration:
            raise Invalid(
                "That range runs past the end of the clip.",
                fields={"t_end": f"Must be at most {duration / 1000:g} s."},
            )


def _body(raw: Any) -> str:
    if not isinstance(raw, str):
        raise Invalid("Write something.", fields={"body": "Required."})
    body = clean_body(raw)
    if not body:
        raise Invalid("Write something.", fields={"body": "Cannot be empty."})
    return limits.check_length(body, BODY_MAX, "body", "The comment")


def _kind(raw: Any) -> str:
    try:
        return CommentKind(CommentKind.NOTE.value if raw is None else raw).value
    except ValueError:
        raise Invalid(
            "Kind must be strength, question, suggestion or note.",
            fields={"kind": f"One of: {', '.join(KINDS)}."},
        ) from None


def _goals(clip: Clip, goal_ids: Any) -> list[Goal]:
    if goal_ids is None:
        return []
    if not isinstance(goal_ids, list) or not all(isinstance(g, str) for g in goal_ids):
        raise Invalid("goal_ids must be a list of goal ids.", fields={"goal_ids": "Not a list."})
    wanted = set(goal_ids)
    found = db.session.scalars(
        select(Goal).where(Goal.id.in_(wanted), Goal.partnership_id == clip.partnership_id)
    ).all()
    if len(found) != len(wanted):
        raise Invalid(
            "Every goal must belong to this clip's partnership.",
            fields={"goal_ids": "Unknown goal for this partnership."},
        )
    return sorted(found, key=lambda goal: goal_ids.index(goal.id))


LIST_COLUMNS = (
    Comment.id,
    Comment.clip_id,
    Comment.author_id,
    Comment.body,
    Comment.body_html,
    Comment.t_start_ms,
    Comment.t_end_ms,
    Comment.kind,
    Comment.parent_id,
    Comment.private,
    Comment.resolved_at,
    Comment.resolved_by_id,
    Comment.created_at,
    Comment.edited_at,
    Comment.outside_shared,
)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def comment_json(comment: Comment) -> dict[str, Any]:
    """The API's comment object (docs/api.md), built without a serialiser: lists run long."""
    row = {column.key: getattr(comment, column.key) for column in LIST_COLUMNS}
    resolver = comment.resolved_by if comment.resolved_at is not None else None
    return _as_json(
        row | {"goal_ids": [goal.id for goal in comment.goals]},
        {"id": comment.author.id, "email": comment.author.email, "name": comment.author.name},
        None if resolver is None else {"id": resolver.id, "name": resolver.name},
    )


def _as_json(
    row: Any, author: dict[str, str], resolved_by: dict[str, str] | None
) -> dict[str, Any]:
    return {
        "id": row["id"],
        "clip_id": row["clip_id"],
        "author": author,
        "body": row["body"],
        "body_html": row["body_html"],
        "t_start": row["t_start_ms"] / 1000,
        "t_end": None if row["t_end_ms"] is None else row["t_end_ms"] / 1000,
        "kind": row["kind"],
        "goal_ids": row["goal_ids"],
        "parent_id": row["parent_id"],
        "private": row["private"],
        "resolved": row["resolved_at"] is not None,
        "resolved_by": resolved_by,
        "created_at": _iso(row["created_at"]),
        "edited_at": _iso(row["edited_at"]),
        "outside_shared": row["outside_shared"],
    }


def list_comments(
    user: User,
    clip_id: str,
    *,
    goal_id: str | None = None,
    kind: str | None = None,
    author_id: str | None = None,
) -> list[dict[str, Any]]:
    """Visible comments of a clip in time order, as API objects, in three queries.

    Plain rows rather than ORM objects: a clip with 1,000 comments must answer in well
    under 50 ms (bench/comments_bench.py).
    """
    clip = access.get_clip(user, clip_id)
    query = access.visible_comments(user).where(Comment.clip_id == clip.id)
    if goal_id:
        query = query.where(
            Comment.id.in_(
                select(comment_goals.c.comment_id).where(comment_goals.c.goal_id == goal_id)
            )
        )
    if kind:
        query = query.where(Comment.kind == _kind(kind))
    if author_id:
        query = query.where(Comment.author_id == author_id)
    rows = (
        db.session.execute(
            query.with_only_columns(*LIST_COLUMNS).order_by(Comment.t_start_ms, Comment.created_at)
        )
        .mappings()
        .all()
    )
    goal_ids: dict[str, list[str]] = {row["id"]: [] for row in rows}
    links = db.session.execute(
        select(comment_goals.c.comment_id, comment_goals.c.goal_id).where(
            comment_goals.c.comment_id.in_(query.with_only_columns(Comment.id))
        )
    )
    for comment_id, linked_goal in links:
        if comment_id in goal_ids:
            goal_ids[comment_id].append(linked_goal)
    people = {row["author_id"] for row in rows} | {
        row["resolved_by_id"] for row in rows if row["resolved_by_id"] is not None
    }
    authors = {
        person.id: {"id": person.id, "email": person.email, "name": person.name}
        for person in db.session.execute(
            select(User.id, User.email, User.name).where(User.id.in_(people))
        )
    }
    return [
        _as_json(
            dict(row) | {"goal_ids": goal_ids[row["id"]]},
            authors[row["author_id"]],
            _resolver(row, authors),
        )
        for row in rows
    ]


def _resolver(row: Any, people: dict[str, dict[str, str]]) -> dict[str, str] | None:
    """Who resolved the thread, as {id, name} (members see no one's email here)."""
    person = people.get(row["resolved_by_id"]) if row["resolved_at"] is not None else None
    return None if person is None else {"id": person["id"], "name": person["name"]}


def create_comment(user: User, clip_id: str, values: dict[str, Any]) -> Comment:
    clip = access.get_clip(user, clip_id)
    parent = None
    if values.get("parent_id") is not None and not isinstance(values["parent_id"], str):
        raise Invalid("Reply to a comment on this clip.", fields={"parent_id": "Not a comment id."})
    if values.get("parent_id"):
        parent = db.session.scalars(
            access.visible_comments(user).where(
                Comment.id == values["parent_id"], Comment.clip_id == clip.id
            )
        ).first()
        if parent is None:
            raise Invalid("Reply to a comment on this clip.", fields={"parent_id": "Not found."})
        if parent.parent_id is not None:
            raise Invalid(
                "Replies go one level deep: reply to the first comment of the thread.",
                fields={"parent_id": "That comment is itself a reply."},
            )
    if values.get("t_start") is None and parent is not None:
        start_ms, end_ms = parent.t_start_ms, parent.t_end_ms
    else:
        if values.get("t_start") is None:
            raise Invalid("Say when in the clip.", fields={"t_start": "Required."})
        start_ms = _seconds_to_ms(values["t_start"], "t_start")
        end_ms = None if values.get("t_end") is None else _seconds_to_ms(values["t_end"], "t_end")
    _check_times(clip, start_ms, end_ms)
    private = values.get("private", False)
    if not isinstance(private, bool):
        raise Invalid("private must be true or false.", fields={"private": "Not a boolean."})
    if parent is not None and parent.private:
        # Only the note's author sees it, so only they can reply. A public reply would
        # show the partner the hidden note's moment and its id; forced, not refused,
        # because the page's composer always sends its (unticked) private box.
        private = True
    comment = Comment(
        clip_id=clip.id,
        author_id=user.id,
        parent_id=parent.id if parent else None,
        t_start_ms=start_ms,
        t_end_ms=end_ms,
        body=(body := _body(values.get("body"))),
        body_html=body_html(body),
        kind=_kind(values.get("kind")),
        private=private,
        goals=_goals(clip, values.get("goal_ids")),
    )
    db.session.add(comment)
    db.session.flush()
    notifications.comment_created(comment)
    _announce(clip, comment, "comment")
    return comment


def _announce(clip: Clip, comment: Comment, kind: str) -> None:
    """Tell live pages of the clip (meetings) of a change. Private notes and private clips
    are nobody else's business, so they never go on the channel at all."""
    if comment.private or clip.visibility != Visibility.SHARED.value:
        return
    data = comment_json(comment) if kind == "comment" else {"id": comment.id}
    live.announce(live.clip_topic(clip.id), kind, data)


def _own(user: User, comment_id: str) -> Comment:
    comment = access.get_comment(user, comment_id)
    if comment.author_id != user.id:
        raise Forbidden("Only its author can change or delete a comment.")
    return comment


def update_comment(user: User, comment_id: str, changes: dict[str, Any]) -> Comment:
    """The author changes anything; any member who sees the thread may resolve or reopen it
    (the coach answers the teacher's question and closes it), and nothing else."""
    comment = access.get_comment(user, comment_id)
    if comment.author_id != user.id and set(changes) != {"resolved"}:
        raise Forbidden(
            "Only its author can change a comment; anyone in the partnership can resolve "
            "or reopen a thread."
        )
    clip = db.session.get(Clip, comment.clip_id)
    assert clip is not None
    edited = False
    if "body" in changes:
        comment.body = _body(changes["body"])
        comment.body_html = body_html(comment.body)
        edited = True
    if "t_start" in changes or "t_end" in changes:
        start_ms = (
            _seconds_to_ms(changes["t_start"], "t_start")
            if "t_start" in changes
            else comment.t_start_ms
        )
        end_raw = changes.get("t_end", comment.t_end_ms / 1000 if comment.t_end_ms else None)
        end_ms = None if end_raw is None else _seconds_to_ms(end_raw, "t_end")
        _check_times(clip, start_ms, end_ms)
        comment.t_start_ms, comment.t_end_ms = start_ms, end_ms
        edited = True
    if "kind" in changes:
        comment.kind = _kind(changes["kind"])
        edited = True
    if "goal_ids" in changes:
        comment.goals = _goals(clip, changes["goal_ids"])
        edited = True
    if "resolved" in changes:
        _resolve(user, comment, changes["resolved"])
    if edited:
        comment.edited_at = utcnow()
    db.session.flush()
    _announce(clip, comment, "comment")
    return comment


def _resolve(user: User, comment: Comment, resolved: Any) -> None:
    if not isinstance(resolved, bool):
        raise Invalid("resolved must be true or false.", fields={"resolved": "Not a boolean."})
    if comment.parent_id is not None:
        raise Invalid(
            "A reply is resolved with its thread: resolve the first comment of the thread.",
            fields={"resolved": "Not for a reply."},
        )
    if resolved == (comment.resolved_at is not None):
        return  # already so: who resolved it, and when, stay as they were
    comment.resolved_at = utcnow() if resolved else None
    comment.resolved_by = user if resolved else None


def delete_comment(user: User, comment_id: str) -> None:
    """Soft delete: the row stays (replies keep their place), nobody sees it any more."""
    comment = _own(user, comment_id)
    comment.deleted_at = utcnow()
    db.session.flush()
    clip = db.session.get(Clip, comment.clip_id)
    assert clip is not None
    _announce(clip, comment, "comment_deleted")
