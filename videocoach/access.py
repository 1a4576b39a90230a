"""The one place that decides who sees what.

Every page, API endpoint, media route and export loads partnership content
through these helpers. Content outside the caller's partnerships does not
exist for them: the helpers raise NotFound, never Forbidden, so ids leak
nothing. Site admins get no exception here: they manage accounts, not content.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from videocoach import db
from videocoach.accounts.models import User
from videocoach.clips.models import Clip, Visibility
from videocoach.comments.models import Comment
from videocoach.errors import Forbidden, NotFound
from videocoach.meetings.models import Meeting
from videocoach.partnerships.models import Goal, Membership, NextStep, Partnership


def member_partnership_ids(user: User) -> Select[tuple[str]]:
    """The ids of the user's partnerships (a subquery for every visibility rule)."""
    return select(Membership.partnership_id).where(Membership.user_id == user.id)


def partnership_members(partnership_id: str) -> Select[tuple[User]]:
    """The people of a partnership (who hears of its news, who may drive or own a step)."""
    return (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership_id)
    )


def is_member(user_id: object, partnership_id: str) -> bool:
    """Whether `user_id` (as a client sent it: maybe not even a string) is a member."""
    if not isinstance(user_id, str):
        return False
    query = partnership_members(partnership_id).where(User.id == user_id)
    return db.session.scalar(query.with_only_columns(User.id)) is not None


def visible_partnerships(user: User) -> Select[tuple[Partnership]]:
    return select(Partnership).where(Partnership.id.in_(member_partnership_ids(user)))


def visible_goals(user: User) -> Select[tuple[Goal]]:
    return select(Goal).where(Goal.partnership_id.in_(member_partnership_ids(user)))


def visible_next_steps(user: User) -> Select[tuple[NextStep]]:
    return select(NextStep).where(NextStep.partnership_id.in_(member_partnership_ids(user)))


def visible_clips(user: User) -> Select[tuple[Clip]]:
    """Shared clips of the user's partnerships, plus private clips they uploaded."""
    return select(Clip).where(
        Clip.partnership_id.in_(member_partnership_ids(user)),
        or_(Clip.visibility == Visibility.SHARED.value, Clip.uploaded_by_id == user.id),
    )


def visible_comments(user: User) -> Select[tuple[Comment]]:
    """Live comments on visible clips; a private comment is visible to its author only."""
    clip_ids = visible_clips(user).with_only_columns(Clip.id)
    return select(Comment).where(
        Comment.clip_id.in_(clip_ids),
        Comment.deleted_at.is_(None),
        or_(Comment.private.is_(False), Comment.author_id == user.id),
        or_(Comment.outside_shared.is_(False), Comment.author_id == user.id),
    )


def visible_meetings(user: User) -> Select[tuple[Meeting]]:
    """Meetings on clips the user may see: unsharing the clip closes its meetings to others."""
    return select(Meeting).where(
        Meeting.clip_id.in_(visible_clips(user).with_only_columns(Clip.id))
    )


def _one_or_404(query: Select, what: str):  # type: ignore[type-arg]
    found = db.session.scalars(query).first()
    if found is None:
        raise NotFound(f"That {what} does not exist, or you are not a member of its partnership.")
    return found


def get_partnership(user: User, partnership_id: str) -> Partnership:
    return _one_or_404(
        visible_partnerships(user).where(Partnership.id == partnership_id), "partnership"
    )


def get_membership(user: User, partnership_id: str) -> Membership:
    """The caller's own membership of a partnership (NotFound for outsiders)."""
    return _one_or_404(
        select(Membership).where(
            Membership.partnership_id == partnership_id, Membership.user_id == user.id
        ),
        "partnership",
    )


def get_goal(user: User, goal_id: str) -> Goal:
    return _one_or_404(visible_goals(user).where(Goal.id == goal_id), "goal")


def get_clip(user: User, clip_id: str) -> Clip:
    return _one_or_404(visible_clips(user).where(Clip.id == clip_id), "clip")


def get_own_clip(user: User, clip_id: str, doing: str) -> Clip:
    """A clip the user uploaded: 404 if they may not see it, 403 for its other members."""
    clip = get_clip(user, clip_id)
    if clip.uploaded_by_id != user.id:
        raise Forbidden(f"Only the person who uploaded this clip can {doing} it.")
    return clip


def get_meeting(user: User, meeting_id: str) -> Meeting:
    return _one_or_404(visible_meetings(user).where(Meeting.id == meeting_id), "meeting")


def get_comment(user: User, comment_id: str) -> Comment:
    return _one_or_404(visible_comments(user).where(Comment.id == comment_id), "comment")
