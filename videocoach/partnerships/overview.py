"""The "My partnerships" cards: who the partners are, the latest clip, how many comments
are unread and how many next steps are open. A constant number of queries however many
partnerships a person has (tests/partnerships/test_overview.py counts them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from videocoach import access, db
from videocoach.accounts.models import User
from videocoach.clips.models import Clip
from videocoach.comments.models import Comment
from videocoach.notifications.grouping import initials
from videocoach.partnerships.home import unread_by
from videocoach.partnerships.models import NextStep, Partnership
from videocoach.partnerships.services import list_partnerships


@dataclass
class Partner:
    name: str
    role: str

    @property
    def initials(self) -> str:
        return initials(self.name)


@dataclass
class PartnershipCard:
    partnership: Partnership
    my_role: str | None
    partners: list[Partner]  # everyone but me, in the order they joined
    latest_clip: Clip | None  # the newest upload I may see (assets loaded, for its poster)
    unread_comments: int  # by others, after I last opened their clip
    open_next_steps: int


def partnership_cards(user: User) -> list[PartnershipCard]:
    """One card per partnership of `user`, as list_partnerships orders them. Seven queries."""
    partnerships = list_partnerships(user)  # three: partnerships, memberships, their users
    ids = [partnership.id for partnership in partnerships]
    latest = _latest_clips(user, ids)
    unread = _unread_by_partnership(user, ids)
    steps = _open_steps_by_partnership(user, ids)
    cards = []
    for partnership in partnerships:
        mine = [m for m in partnership.memberships if m.user_id == user.id]
        cards.append(
            PartnershipCard(
                partnership=partnership,
                my_role=mine[0].role if mine else None,
                partners=[
                    Partner(name=m.user.name, role=m.role)
                    for m in partnership.memberships
                    if m.user_id != user.id
                ],
                latest_clip=latest.get(partnership.id),
                unread_comments=unread.get(partnership.id, 0),
                open_next_steps=steps.get(partnership.id, 0),
            )
        )
    return cards


def _latest_clips(user: User, partnership_ids: list[str]) -> dict[str, Clip]:
    """The newest visible clip of each partnership: one window query, one for the assets."""
    if not partnership_ids:
        return {}
    ranked = (
        access.visible_clips(user)
        .where(Clip.partnership_id.in_(partnership_ids))
        .with_only_columns(
            Clip.id,
            func.row_number()
            .over(
                partition_by=Clip.partnership_id,
                order_by=(Clip.created_at.desc(), Clip.id.desc()),
            )
            .label("rank"),
        )
        .subquery()
    )
    clips = db.session.scalars(
        select(Clip)
        .join(ranked, ranked.c.id == Clip.id)
        .where(ranked.c.rank == 1)
        .options(selectinload(Clip.assets))
    ).all()
    return {clip.partnership_id: clip for clip in clips}


def _unread_by_partnership(user: User, partnership_ids: list[str]) -> dict[str, int]:
    """Comments by others, posted after I last opened their clip (as on the home page)."""
    if not partnership_ids:
        return {}
    rows = db.session.execute(
        select(Clip.partnership_id, func.count())
        .select_from(Comment)
        .join(Clip, Clip.id == Comment.clip_id)
        .where(Clip.partnership_id.in_(partnership_ids), *unread_by(user))
        .group_by(Clip.partnership_id)
    ).all()
    return {partnership_id: count for partnership_id, count in rows}


def _open_steps_by_partnership(user: User, partnership_ids: list[str]) -> dict[str, int]:
    if not partnership_ids:
        return {}
    rows = db.session.execute(
        access.visible_next_steps(user)
        .with_only_columns(NextStep.partnership_id, func.count())
        .where(NextStep.partnership_id.in_(partnership_ids), NextStep.done_at.is_(None))
        .group_by(NextStep.partnership_id)
    ).all()
    return {partnership_id: count for partnership_id, count in rows}
