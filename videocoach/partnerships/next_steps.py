"""Next steps agreed in coaching: each optionally tied to a goal, with an owner and a due
date; open ones show on the partnership home and the goals page until someone marks them
done. No HTTP here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from videocoach import access, db, limits, live
from videocoach.accounts.models import User
from videocoach.db import utcnow
from videocoach.errors import Invalid, NotFound
from videocoach.meetings.models import Meeting
from videocoach.partnerships.models import Goal, NextStep


def _text(raw: Any) -> str:
    text = limits.one_line(raw) if isinstance(raw, str | None) else ""
    if not text:
        raise Invalid("Say what the next step is.", fields={"text": "Required."})
    return limits.check_length(text, limits.NEXT_STEP_MAX, "text", "The next step")


def _cleared(raw: Any) -> bool:
    """Null or "" clears an optional field; other values that are not text are refused."""
    return raw is None or raw == ""


def _an_id(raw: Any, field: str, message: str) -> str:
    """An id sent in a body: a string, or Invalid (a list or an object cannot match a row)."""
    if not isinstance(raw, str):
        raise Invalid(message, fields={field: "Not an id."})
    return raw


def _goal_id(partnership_id: str, raw: Any) -> str | None:
    if _cleared(raw):
        return None
    raw = _an_id(raw, "goal_id", "Choose a goal of this partnership.")
    found = db.session.scalar(
        select(Goal.id).where(Goal.id == raw, Goal.partnership_id == partnership_id)
    )
    if found is None:
        raise Invalid("Choose a goal of this partnership.", fields={"goal_id": "Unknown goal."})
    return found


def _owner_id(partnership_id: str, raw: Any) -> str | None:
    if _cleared(raw):
        return None
    raw = _an_id(raw, "owner_id", "The owner must be a member.")
    if not access.is_member(raw, partnership_id):
        raise Invalid("The owner must be a member.", fields={"owner_id": "Not a member."})
    return raw


def _due(raw: Any) -> date | None:
    if _cleared(raw):
        return None
    if not isinstance(raw, str):
        raise Invalid("Use a date like 2026-12-01.", fields={"due_on": "Not a date."})
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("Use a date like 2026-12-01.", fields={"due_on": "Not a date."}) from None


def _meeting_id(user: User, partnership_id: str, raw: Any) -> str | None:
    if _cleared(raw):
        return None
    raw = _an_id(raw, "meeting_id", "Choose a meeting of this partnership.")
    meeting = db.session.scalar(
        access.visible_meetings(user).where(
            Meeting.id == raw, Meeting.partnership_id == partnership_id
        )
    )
    if meeting is None:
        raise Invalid("Choose a meeting of this partnership.", fields={"meeting_id": "Unknown."})
    return meeting.id


def next_step_json(step: NextStep) -> dict[str, Any]:
    """The API's next step object (NextStepSchema), also sent live to a meeting."""
    owner = step.owner
    return {
        "id": step.id,
        "partnership_id": step.partnership_id,
        "meeting_id": step.meeting_id,
        "text": step.text,
        "goal_id": step.goal_id,
        "owner": {"id": owner.id, "email": owner.email, "name": owner.name} if owner else None,
        "due_on": step.due_on.isoformat() if step.due_on else None,
        "done": step.done_at is not None,
        "done_at": step.done_at.isoformat() if step.done_at else None,
        "created_at": step.created_at.isoformat(),
    }


def _announce(step: NextStep, kind: str = "next_step") -> None:
    """A step agreed in a meeting appears live for everyone in it."""
    if step.meeting_id:
        data = next_step_json(step) if kind == "next_step" else {"id": step.id}
        live.announce(live.meeting_topic(step.meeting_id), kind, data)


def list_meeting_steps(user: User, meeting_id: str) -> Sequence[NextStep]:
    """The steps agreed in one meeting, done ones included, in the order they were added."""
    meeting = access.get_meeting(user, meeting_id)
    return db.session.scalars(
        access.visible_next_steps(user)
        .where(NextStep.meeting_id == meeting.id)
        .options(selectinload(NextStep.owner))
        .order_by(NextStep.created_at)
    ).all()


def list_next_steps(
    user: User, partnership_id: str, *, include_done: bool = False
) -> Sequence[NextStep]:
    """Open steps first by due date (undated last); done ones after, when asked for."""
    partnership = access.get_partnership(user, partnership_id)
    query = (
        access.visible_next_steps(user)
        .where(NextStep.partnership_id == partnership.id)
        .options(selectinload(NextStep.goal), selectinload(NextStep.owner))
        .order_by(
            NextStep.done_at.is_not(None),
            NextStep.due_on.is_(None),
            NextStep.due_on,
            NextStep.created_at,
        )
    )
    if not include_done:
        query = query.where(NextStep.done_at.is_(None))
    return db.session.scalars(query).all()


def create_next_step(user: User, partnership_id: str, values: dict[str, Any]) -> NextStep:
    partnership = access.get_partnership(user, partnership_id)
    step = NextStep(
        partnership_id=partnership.id,
        created_by_id=user.id,
        text=_text(values.get("text")),
        goal_id=_goal_id(partnership.id, values.get("goal_id")),
        owner_id=_owner_id(partnership.id, values.get("owner_id")),
        due_on=_due(values.get("due_on")),
        meeting_id=_meeting_id(user, partnership.id, values.get("meeting_id")),
    )
    db.session.add(step)
    db.session.flush()
    db.session.refresh(step, ["owner"])
    _announce(step)
    return step


def get_next_step(user: User, step_id: str) -> NextStep:
    step = db.session.scalars(access.visible_next_steps(user).where(NextStep.id == step_id)).first()
    if step is None:
        raise NotFound("That next step does not exist.")
    return step


def update_next_step(user: User, step_id: str, changes: dict[str, Any]) -> NextStep:
    """Any member may edit a step or mark it done: it belongs to the partnership."""
    step = get_next_step(user, step_id)
    if "text" in changes:
        step.text = _text(changes["text"])
    if "goal_id" in changes:
        step.goal_id = _goal_id(step.partnership_id, changes["goal_id"])
    if "owner_id" in changes:
        step.owner_id = _owner_id(step.partnership_id, changes["owner_id"])
    if "due_on" in changes:
        step.due_on = _due(changes["due_on"])
    if "done" in changes:
        if not isinstance(changes["done"], bool):
            raise Invalid("done must be true or false.", fields={"done": "Not a boolean."})
        step.done_at = (step.done_at or utcnow()) if changes["done"] else None
    db.session.flush()
    db.session.refresh(step, ["owner"])
    _announce(step)
    return step


def delete_next_step(user: User, step_id: str) -> None:
    step = get_next_step(user, step_id)
    _announce(step, "next_step_deleted")
    db.session.delete(step)
    db.session.flush()
