"""The partnership home: recent clips with unread counts, and what changed since my last visit.
Also the goals page's evidence: every comment tied to a goal, across the partnership's clips."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import selectinload

from videocoach import access, db
from videocoach.accounts.models import User
from videocoach.clips.models import Clip, ClipView
from videocoach.comments.models import Comment, comment_goals
from videocoach.db import utcnow
from videocoach.notifications.excerpts import excerpt
from videocoach.notifications.grouping import EXCERPTS_SHOWN
from videocoach.partnerships import evidence_chart
from videocoach.partnerships.evidence_chart import EvidenceChart, LessonFacts
from videocoach.partnerships.models import Goal, GoalStatus, NextStep

RECENT_CLIPS = 12
# The feed groups the newest this many comments by clip and person.
FEED_COMMENTS = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Changes:
    since: datetime | None
    new_clips: list[Clip] = field(default_factory=list)
    new_comments: int = 0
    goals_met: list[Goal] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.new_clips or self.new_comments or self.goals_met)


@dataclass
class Activity:
    """One line of the feed. Comments come grouped by clip and person: "Cole left 5
    comments on …" links to the newest, with the first words of the latest one or two."""

    at: datetime
    kind: str  # "clip" | "comment" | "goal_met" | "step_done"
    who: str
    what: str  # the clip or goal title
    clip_id: str | None = None
    comment_id: str | None = None  # for comments: the newest of the group
    count: int = 1
    excerpts: list[str] = field(default_factory=list)


@dataclass
class Home:
    clips: list[Clip]
    unread: dict[str, int]
    changes: Changes
    activity: list[Activity] = field(default_factory=list)


def _visible_comment_ids(user: User):  # type: ignore[no-untyped-def]
    return access.visible_comments(user).with_only_columns(Comment.id)


def unread_by(user: User) -> list[ColumnElement[bool]]:
    """The conditions of a comment unread by `user`: one they may see, by someone else,
    posted after they last opened its clip (the home page's and the cards' counts)."""
    seen = (
        select(ClipView.seen_at)
        .where(ClipView.clip_id == Comment.clip_id, ClipView.user_id == user.id)
        .scalar_subquery()
    )
    return [
        Comment.id.in_(_visible_comment_ids(user)),
        Comment.author_id != user.id,
        Comment.created_at > func.coalesce(seen, EPOCH),
    ]


def unread_counts(user: User, clip_ids: list[str]) -> dict[str, int]:
    """Comments by others, posted after I last opened each clip (one query for all clips)."""
    if not clip_ids:
        return {}
    rows = db.session.execute(
        select(Comment.clip_id, func.count())
        .where(Comment.clip_id.in_(clip_ids), *unread_by(user))
        .group_by(Comment.clip_id)
    ).all()
    return {clip_id: count for clip_id, count in rows}


def partnership_home(user: User, partnership_id: str) -> Home:
    """What the home page shows; records this visit for the next "since your last visit"."""
    membership = access.get_membership(user, partnership_id)
    clips = list(
        db.session.scalars(
            access.visible_clips(user)
            .where(Clip.partnership_id == partnership_id)
            .options(selectinload(Clip.assets))
            .order_by(Clip.created_at.desc())
            .limit(RECENT_CLIPS)
        )
    )
    since = membership.last_visited_at
    changes = Changes(since=since)
    if since is not None:
        changes.new_clips = list(
            db.session.scalars(
                access.visible_clips(user).where(
                    Clip.partnership_id == partnership_id,
                    Clip.created_at > since,
                    Clip.uploaded_by_id != user.id,
                )
            )
        )
        changes.new_comments = (
            db.session.scalar(
                select(func.count())
                .select_from(Comment)
                .join(Clip, Clip.id == Comment.clip_id)
                .where(
                    Comment.id.in_(_visible_comment_ids(user)),
                    Clip.partnership_id == partnership_id,
                    Comment.created_at > since,
                    Comment.author_id != user.id,
                )
            )
            or 0
        )
        changes.goals_met = list(
            db.session.scalars(
                access.visible_goals(user).where(
                    Goal.partnership_id == partnership_id, Goal.met_at > since
                )
            )
        )
    membership.last_visited_at = utcnow()
    return Home(
        clips=clips,
        unread=unread_counts(user, [c.id for c in clips]),
        changes=changes,
        activity=recent_activity(user, partnership_id),
    )


def recent_activity(user: User, partnership_id: str, limit: int = 15) -> list[Activity]:
    """New clips, comments (grouped by clip and person), goals met and next steps done,
    newest first, as far as this person may see. Four queries."""
    clips = db.session.execute(
        access.visible_clips(user)
        .with_only_columns(Clip.id, Clip.title, Clip.created_at, User.name)
        .join(User, User.id == Clip.uploaded_by_id)
        .where(Clip.partnership_id == partnership_id)
        .order_by(Clip.created_at.desc())
        .limit(limit)
    ).all()
    comments = db.session.execute(
        select(Comment.created_at, Clip.id, Clip.title, User.name, Comment.id, Comment.body,
               Comment.author_id)
        .join(Clip, Clip.id == Comment.clip_id)
        .join(User, User.id == Comment.author_id)
        .where(Comment.id.in_(_visible_comment_ids(user)), Clip.partnership_id == partnership_id)
        .order_by(Comment.created_at.desc())
        .limit(FEED_COMMENTS)
    ).all()  # fmt: skip
    goals = db.session.scalars(
        access.visible_goals(user)
        .where(Goal.partnership_id == partnership_id, Goal.met_at.is_not(None))
        .order_by(Goal.met_at.desc())
        .limit(limit)
    ).all()
    steps_done = db.session.scalars(
        access.visible_next_steps(user)
        .where(NextStep.partnership_id == partnership_id, NextStep.done_at.is_not(None))
        .order_by(NextStep.done_at.desc())
        .limit(limit)
    ).all()
    events = [Activity(at, "clip", who, title, clip_id) for clip_id, title, at, who in clips]
    events += [Activity(s.done_at, "step_done", "", s.text) for s in steps_done if s.done_at]
    events += _comment_groups(comments)
    events += [Activity(goal.met_at, "goal_met", "", goal.title) for goal in goals if goal.met_at]
    return sorted(events, key=lambda event: event.at, reverse=True)[:limit]


def _comment_groups(rows: Sequence[Row[Any]]) -> list[Activity]:
    """Comment rows (newest first) as one Activity per clip and author, where the newest is."""
    by_clip_and_author: dict[tuple[str, str], Activity] = {}
    for at, clip_id, title, who, comment_id, body, author_id in rows:
        group = by_clip_and_author.get((clip_id, author_id))
        if group is None:
            group = Activity(at, "comment", who, title, clip_id, comment_id, count=0)
            by_clip_and_author[(clip_id, author_id)] = group
        group.count += 1
        if len(group.excerpts) < EXCERPTS_SHOWN:
            group.excerpts.append(excerpt(body))
    return list(by_clip_and_author.values())


@dataclass
class GoalEvidence:
    goal: Goal
    moments: list[tuple[Comment, Clip]]
    by_kind: Counter[str]
    chart: EvidenceChart | None  # None without moments


def _lesson(clip: Clip) -> LessonFacts:
    return LessonFacts(
        clip_id=clip.id,
        title=clip.title,
        day=clip.recorded_on or clip.created_at.date(),
        recorded=clip.recorded_on is not None,
    )


def goals_with_evidence(user: User, partnership_id: str) -> list[GoalEvidence]:
    """Every goal with the comments tied to it, in the order the lessons happened.

    Three queries whatever the number of goals and comments.
    """
    partnership = access.get_partnership(user, partnership_id)
    goals = list(
        db.session.scalars(
            access.visible_goals(user)
            .where(Goal.partnership_id == partnership.id)
            .order_by(Goal.status != GoalStatus.ACTIVE.value, Goal.created_at)
        )
    )
    links = db.session.execute(
        select(comment_goals.c.goal_id, Comment, Clip)
        .join(Comment, Comment.id == comment_goals.c.comment_id)
        .join(Clip, Clip.id == Comment.clip_id)
        .where(
            comment_goals.c.goal_id.in_([goal.id for goal in goals]),
            Comment.id.in_(_visible_comment_ids(user)),
        )
        .options(selectinload(Comment.author), selectinload(Clip.assets))
        .order_by(
            func.coalesce(Clip.recorded_on, func.date(Clip.created_at)),
            Clip.created_at,
            Comment.t_start_ms,
        )
    ).all()
    by_goal: dict[str, list[tuple[Comment, Clip]]] = {goal.id: [] for goal in goals}
    for goal_id, comment, clip in links:
        by_goal[goal_id].append((comment, clip))
    evidence = []
    for goal in goals:
        moments = by_goal[goal.id]
        evidence.append(
            GoalEvidence(
                goal=goal,
                moments=moments,
                by_kind=Counter(comment.kind for comment, _clip in moments),
                chart=evidence_chart.build((c.kind, _lesson(clip)) for c, clip in moments),
            )
        )
    return evidence
