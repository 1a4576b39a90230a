"""Coaching goals within a partnership. No HTTP here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case

from videocoach import access, db, limits
from videocoach.accounts.models import User
from videocoach.db import utcnow
from videocoach.errors import Invalid
from videocoach.partnerships.models import Goal, GoalStatus

EDITABLE_FIELDS = ("title", "description", "success_criteria", "status")


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    fields: dict[str, str] = {}
    if "title" in values:
        title = limits.one_line(values["title"])
        problem = limits.length_problem(title, limits.TITLE_MAX)
        if not title:
            fields["title"] = "Give the goal a title."
        elif problem:
            fields["title"] = problem
        cleaned["title"] = title
    for name in ("description", "success_criteria"):
        if name in values:
            text = limits.multi_line(values[name])
            if problem := limits.length_problem(text, limits.GOAL_TEXT_MAX):
                fields[name] = problem
            cleaned[name] = text
    if "status" in values:
        try:
            cleaned["status"] = GoalStatus(values["status"]).value
        except ValueError:
            fields["status"] = "Status must be active, met or archived."
    if fields:
        raise Invalid(next(iter(fields.values())), fields=fields)
    return cleaned


def list_goals(user: User, partnership_id: str, status: str | None = None) -> Sequence[Goal]:
    """Active goals first, then met, then archived; oldest first within each."""
    partnership = access.get_partnership(user, partnership_id)
    order = case({GoalStatus.ACTIVE.value: 0, GoalStatus.MET.value: 1}, value=Goal.status, else_=2)
    query = access.visible_goals(user).where(Goal.partnership_id == partnership.id)
    if status:
        query = query.where(Goal.status == _clean({"status": status})["status"])
    return db.session.scalars(query.order_by(order, Goal.created_at)).all()


def create_goal(
    user: User,
    partnership_id: str,
    title: str,
    description: str | None = "",
    success_criteria: str | None = "",
) -> Goal:
    partnership = access.get_partnership(user, partnership_id)
    values = _clean(
        {"title": title, "description": description, "success_criteria": success_criteria}
    )
    goal = Goal(partnership_id=partnership.id, created_by_id=user.id, **values)
    db.session.add(goal)
    db.session.flush()
    return goal


def update_goal(user: User, goal_id: str, changes: dict[str, Any]) -> Goal:
    goal = access.get_goal(user, goal_id)
    values = _clean({k: v for k, v in changes.items() if k in EDITABLE_FIELDS})
    if "status" in values and values["status"] != goal.status:
        goal.met_at = utcnow() if values["status"] == GoalStatus.MET.value else None
    for name, value in values.items():
        setattr(goal, name, value)
    goal.updated_at = utcnow()
    db.session.flush()
    return goal


def delete_goal(user: User, goal_id: str) -> None:
    db.session.delete(access.get_goal(user, goal_id))
    db.session.flush()


def get_goal(user: User, goal_id: str) -> Goal:
    return access.get_goal(user, goal_id)
