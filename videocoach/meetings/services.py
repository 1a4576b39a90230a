"""Meetings: start one on a clip, follow the driver's playback, hand the driving over,
keep notes, see who is there. No HTTP here; live events are announced for after the
commit (videocoach.live)."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from videocoach import access, db, limits, live
from videocoach.accounts.models import User
from videocoach.clips import access_log
from videocoach.clips import services as clips
from videocoach.clips.models import Clip, Visibility, WatchAction
from videocoach.comments.models import Comment
from videocoach.db import utcnow
from videocoach.errors import Conflict, DomainError, Forbidden, Invalid
from videocoach.meetings.models import Meeting, MeetingConnection
from videocoach.notifications import services as notifications
from videocoach.notifications.models import Event

# Someone whose stream has not been seen for this long is no longer "here" (their
# browser or web process went away without saying so). Streams check in every
# HEARTBEAT_S, well inside it.
PRESENCE_TTL_S = 30
RATES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
NOTES_MAX = limits.NOTES_MAX
RECENT_LIMIT = 20


# --- starting, finding, ending -------------------------------------------------------------


def start_meeting(user: User, clip_id: str) -> tuple[Meeting, bool]:
    """The clip's open meeting if there is one (everyone joins the same), else a new one
    driven by its starter. Returns (meeting, created). The other members are notified."""
    clip = access.get_clip(user, clip_id)
    if clip.visibility != Visibility.SHARED.value:
        raise Conflict(
            "Share the clip with your partnership first: a meeting is for all its members.",
            code="clip_private",
        )
    running = running_meeting(user, clip.id)
    if running is not None:
        return running, False
    meeting = Meeting(
        partnership_id=clip.partnership_id,
        clip_id=clip.id,
        started_by_id=user.id,
        driver_id=user.id,
        playback_at=utcnow(),
    )
    db.session.add(meeting)
    db.session.flush()
    notifications.notify_members(
        Event.MEETING_STARTED,
        clip.partnership_id,
        actor_id=user.id,
        clip_id=clip.id,
        meeting_id=meeting.id,
    )
    return meeting, True


def share_and_start(user: User, clip_id: str) -> tuple[Meeting, bool]:
    """The uploader of a private clip shares it with the partnership and starts its meeting
    in one step: the clip page offers it where "Start a meeting" would be. Others may not
    share someone's clip (and cannot see it while it is private)."""
    clip = access.get_clip(user, clip_id)
    if clip.uploaded_by_id != user.id:
        raise Forbidden("Only the person who uploaded this clip can share it.")
    clips.update_clip(user, clip.id, {"visibility": Visibility.SHARED.value})
    return start_meeting(user, clip.id)


def ended_meetings(user: User, clip_id: str) -> Sequence[Meeting]:
    """The clip's finished meetings, newest first: their records stay reachable."""
    return db.session.scalars(
        access.visible_meetings(user)
        .where(Meeting.clip_id == clip_id, Meeting.ended_at.is_not(None))
        .order_by(Meeting.created_at.desc())
        .limit(RECENT_LIMIT)
    ).all()


def running_meeting(user: User, clip_id: str) -> Meeting | None:
    """The meeting under way on a clip, if any (the clip page offers to join it)."""
    return db.session.scalars(
        access.visible_meetings(user)
        .where(Meeting.clip_id == clip_id, Meeting.ended_at.is_(None))
        .order_by(Meeting.created_at.desc())
    ).first()


def get_meeting(user: User, meeting_id: str) -> Meeting:
    return access.get_meeting(user, meeting_id)


def _open_meeting(user: User, meeting_id: str) -> Meeting:
    meeting = access.get_meeting(user, meeting_id)
    if meeting.ended_at is not None:
        raise Conflict("This meeting has ended.", code="meeting_ended")
    return meeting


def list_meetings(user: User, partnership_id: str, limit: int = RECENT_LIMIT) -> Sequence[Meeting]:
    """The partnership's meetings the user may see, running ones first, then newest."""
    partnership = access.get_partnership(user, partnership_id)
    return db.session.scalars(
        access.visible_meetings(user)
        .where(Meeting.partnership_id == partnership.id)
        .options(selectinload(Meeting.clip))
        .order_by(Meeting.ended_at.is_not(None), Meeting.created_at.desc())
        .limit(limit)
    ).all()


def end_meeting(user: User, meeting_id: str) -> Meeting:
    """Any member may end it (the record, notes and next steps stay). Ending twice is fine."""
    meeting = access.get_meeting(user, meeting_id)
    if meeting.ended_at is None:
        meeting.ended_at = utcnow()
        meeting.playing = False
        db.session.flush()
        live.announce(live.meeting_topic(meeting.id), "ended", {"by": _person(user)})
    return meeting


# --- playback and driving ------------------------------------------------------------------


def current_position_s(meeting: Meeting) -> float:
    """Where the shared playback is now: the stored moment, advanced while playing."""
    position = meeting.position_ms / 1000
    if meeting.playing:
        position += (utcnow() - meeting.playback_at).total_seconds() * meeting.rate
    if meeting.clip.duration_ms:
        position = min(position, meeting.clip.duration_ms / 1000)
    return round(position, 3)


def playback_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "position": current_position_s(meeting),
        "playing": meeting.playing,
        "rate": meeting.rate,
        "driver": _person(meeting.driver) if meeting.driver else None,
    }


def _position_ms(clip: Clip, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise Invalid("position must be a number of seconds.", fields={"position": "Not a number."})
    end_ms = clip.duration_ms + 1000 if clip.duration_ms is not None else limits.MOMENT_MAX_MS
    if raw < 0 or raw * 1000 > end_ms:
        raise Invalid("That moment is not in the clip.", fields={"position": "Out of range."})
    return round(raw * 1000)


def set_playback(
    user: User, meeting_id: str, values: dict[str, Any], client_id: str | None = None
) -> Meeting:
    """The driver plays, pauses, seeks or changes speed; everyone else follows."""
    if client_id is not None:  # echoed to every listener: bounded like anything typed
        limits.check_length(client_id, limits.CLIENT_ID_MAX, "client_id", "client_id")
    meeting = _open_meeting(user, meeting_id)
    if meeting.driver_id != user.id:
        raise Forbidden("Only the person driving controls the shared playback.", code="not_driver")
    if "position" in values:
        meeting.position_ms = _position_ms(meeting.clip, values["position"])
    else:  # keep the moment it has reached, so a pause or speed change does not jump back
        meeting.position_ms = round(current_position_s(meeting) * 1000)
    if "playing" in values:
        if not isinstance(values["playing"], bool):
            raise Invalid("playing must be true or false.", fields={"playing": "Not a boolean."})
        meeting.playing = values["playing"]
    if "rate" in values:
        if values["rate"] not in RATES:
            allowed = ", ".join(f"{rate:g}" for rate in RATES)
            raise Invalid(f"Speed must be one of {allowed}.", fields={"rate": "Not allowed."})
        meeting.rate = float(values["rate"])
    meeting.playback_at = utcnow()
    db.session.flush()
    live.announce(
        live.meeting_topic(meeting.id),
        "playback",
        {
            "position": meeting.position_ms / 1000,
            "playing": meeting.playing,
            "rate": meeting.rate,
            "at": meeting.playback_at.timestamp(),
            "by": user.id,
            "client_id": client_id,
        },
    )
    return meeting


def hand_over(user: User, meeting_id: str, new_driver_id: Any) -> Meeting:
    """The driver hands the role to another member. If the driver has left, anyone present
    may take it, so a meeting is never stuck without one."""
    meeting = _open_meeting(user, meeting_id)
    driver_here = meeting.driver_id is not None and meeting.driver_id in present_user_ids(
        meeting.id
    )
    if meeting.driver_id != user.id and driver_here:
        raise Forbidden("Only the person driving can hand the driving over.", code="not_driver")
    if not access.is_member(new_driver_id, meeting.partnership_id):
        raise Invalid(
            "Hand over to a member of this partnership.", fields={"driver_id": "Unknown."}
        )
    if new_driver_id != meeting.driver_id:
        # Freeze the moment reached, so the new driver starts from what everyone sees.
        meeting.position_ms = round(current_position_s(meeting) * 1000)
        meeting.playback_at = utcnow()
        meeting.driver_id = new_driver_id
        db.session.flush()
        db.session.refresh(meeting, ["driver"])
        live.announce(
            live.meeting_topic(meeting.id),
            "driver",
            {"driver": _person(meeting.driver), "playback": playback_json(meeting)},
        )
    return meeting


# --- notes -----------------------------------------------------------------------------------


def save_notes(user: User, meeting_id: str, notes: Any, base_version: Any) -> Meeting:
    """Save the shared notes, unless someone else saved since `base_version` was read:
    then 409, and the page shows both texts instead of losing either."""
    meeting = access.get_meeting(user, meeting_id)
    if not isinstance(notes, str):
        raise Invalid("notes must be text.", fields={"notes": "Not text."})
    # Not trimmed: a save can come while someone is still typing at the end.
    notes = limits.check_length(limits.multi_line(notes, strip=False), NOTES_MAX, "notes", "Notes")
    if isinstance(base_version, bool) or not isinstance(base_version, int):
        raise Invalid("Say which version you edited.", fields={"notes_version": "Required."})
    if base_version != meeting.notes_version:
        raise Conflict(
            "Someone else changed the notes while you were typing. Their version is shown; "
            "your text is kept below it.",
            code="notes_changed",
        )
    # One UPDATE guarded by the version, so two saves at the same instant cannot both win.
    saved = db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.notes_version == base_version)
        .values(
            notes=notes,
            notes_version=base_version + 1,
            notes_updated_by_id=user.id,
            notes_updated_at=utcnow(),
        )
    )
    if saved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("Someone else changed the notes at the same moment.", code="notes_changed")
    db.session.refresh(meeting)
    live.announce(
        live.meeting_topic(meeting.id),
        "notes",
        {"notes": meeting.notes, "version": meeting.notes_version, "by": _person(user)},
    )
    return meeting


# --- presence ----------------------------------------------------------------------------


def _person(user: User | None) -> dict[str, str] | None:
    return {"id": user.id, "name": user.name} if user else None


def present_people(meeting_id: str) -> list[dict[str, str]]:
    """Who has an open, recently seen stream, by name (each person once)."""
    since = utcnow() - timedelta(seconds=PRESENCE_TTL_S)
    rows = db.session.execute(
        select(User.id, User.name)
        .join(MeetingConnection, MeetingConnection.user_id == User.id)
        .where(
            MeetingConnection.meeting_id == meeting_id,
            MeetingConnection.closed_at.is_(None),
            MeetingConnection.seen_at >= since,
        )
        .distinct()
        .order_by(User.name)
    ).all()
    return [{"id": user_id, "name": name} for user_id, name in rows]


def present_user_ids(meeting_id: str) -> set[str]:
    return {person["id"] for person in present_people(meeting_id)}


def participants(meeting_id: str) -> list[dict[str, str]]:
    """Everyone who joined at some point: the meeting's record."""
    rows = db.session.execute(
        select(User.id, User.name)
        .join(MeetingConnection, MeetingConnection.user_id == User.id)
        .where(MeetingConnection.meeting_id == meeting_id)
        .distinct()
        .order_by(User.name)
    ).all()
    return [{"id": user_id, "name": name} for user_id, name in rows]


def _announce_presence(meeting_id: str) -> None:
    live.announce(
        live.meeting_topic(meeting_id), "presence", {"present": present_people(meeting_id)}
    )


class TooManyStreams(DomainError):
    status = 503
    code = "too_many_live_connections"
    default_message = "This server has too many live connections open. Try again shortly."


MEETING_FULL = (
    "This meeting has as many live connections as it may have. Try again when someone "
    "leaves, or close one of your other tabs."
)
REPLACED = "replaced"

# Opening streams one at a time in this process: SQLite (the embedded default, one web
# process) has no row locks, and counting then adding must not interleave.
OPENING = threading.Lock()


def open_connection(
    user: User, meeting_id: str, *, connection_id: str, per_person: int, per_meeting: int
) -> Meeting:
    """Record a stream as open (presence); NotFound or Conflict when it may not be.

    The open, recently seen rows are the ledger of every web process's streams. A person
    past `per_person` loses their oldest streams to the new one (each is told, on its own
    topic, why it ends); a meeting holding `per_meeting` streams of other people refuses
    more (TooManyStreams). Call it under OPENING and commit before letting go of it; on
    PostgreSQL it also locks the person's and the meeting's rows until the commit, so
    opens through other processes wait their turn."""
    meeting = _open_meeting(user, meeting_id)
    for table, row_id in ((User, user.id), (Meeting, meeting.id)):  # always this order
        db.session.execute(
            select(table.id).where(table.id == row_id).with_for_update(key_share=True)
        )
    fresh = utcnow() - timedelta(seconds=PRESENCE_TTL_S)
    mine = db.session.execute(
        select(MeetingConnection.id, MeetingConnection.meeting_id)
        .where(
            MeetingConnection.user_id == user.id,
            MeetingConnection.closed_at.is_(None),
            MeetingConnection.seen_at >= fresh,
        )
        .order_by(MeetingConnection.opened_at, MeetingConnection.id)
    ).all()
    replaced = list(mine[: max(0, len(mine) - per_person + 1)])
    others_here = db.session.scalar(
        select(func.count())
        .select_from(MeetingConnection)
        .where(
            MeetingConnection.meeting_id == meeting.id,
            MeetingConnection.user_id != user.id,
            MeetingConnection.closed_at.is_(None),
            MeetingConnection.seen_at >= fresh,
        )
    )
    if others_here >= per_meeting:
        raise TooManyStreams(MEETING_FULL)
    # Room in a full meeting comes from the same person's own streams there, oldest first.
    mine_here = [row for row in mine[len(replaced) :] if row.meeting_id == meeting.id]
    replaced += mine_here[: max(0, others_here + len(mine_here) - per_meeting + 1)]
    if replaced:
        db.session.execute(
            update(MeetingConnection)
            .where(MeetingConnection.id.in_([row.id for row in replaced]))
            .values(closed_at=utcnow())
        )
    db.session.add(MeetingConnection(id=connection_id, meeting_id=meeting.id, user_id=user.id))
    clip = db.session.get(Clip, meeting.clip_id)
    assert clip is not None  # a meeting goes with its clip
    access_log.record(user, clip, WatchAction.MEETING)
    db.session.flush()
    for row in replaced:
        live.announce(live.connection_topic(row.id), REPLACED, {})
    for affected in {meeting.id} | {row.meeting_id for row in replaced}:
        _announce_presence(affected)
    return meeting


def still_allowed(user_id: str, meeting_id: str) -> bool:
    """Re-checked while a stream is open: a removed member, a disabled account, an
    unshared or deleted clip or an ended meeting ends the stream."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return False
    meeting = db.session.scalar(access.visible_meetings(user).where(Meeting.id == meeting_id))
    return meeting is not None and meeting.ended_at is None


def touch_connection(connection_id: str) -> bool:
    """Mark a stream as still here; False once it was closed for it (replaced)."""
    touched = db.session.execute(
        update(MeetingConnection)
        .where(MeetingConnection.id == connection_id, MeetingConnection.closed_at.is_(None))
        .values(seen_at=utcnow())
    )
    return touched.rowcount == 1  # type: ignore[attr-defined]


def close_connection(connection_id: str) -> None:
    connection = db.session.get(MeetingConnection, connection_id)
    if connection is None or connection.closed_at is not None:
        return
    connection.closed_at = utcnow()
    db.session.flush()
    _announce_presence(connection.meeting_id)


def comments_during(user: User, meeting: Meeting) -> Sequence[Comment]:
    """Comments on the clip written while the meeting ran (the record), as the user may
    see them: someone else's private notes stay out."""
    query = access.visible_comments(user).where(
        Comment.clip_id == meeting.clip_id, Comment.created_at >= meeting.created_at
    )
    if meeting.ended_at is not None:
        query = query.where(Comment.created_at <= meeting.ended_at)
    return db.session.scalars(
        query.options(selectinload(Comment.author), selectinload(Comment.goals)).order_by(
            Comment.t_start_ms, Comment.created_at
        )
    ).all()


# --- the meeting object ------------------------------------------------------------------------


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "partnership_id": meeting.partnership_id,
        "clip_id": meeting.clip_id,
        "started_by": _person(meeting.started_by),
        "started_at": meeting.created_at.isoformat(),
        "ended_at": meeting.ended_at.isoformat() if meeting.ended_at else None,
        "playback": playback_json(meeting),
        "notes": meeting.notes,
        "notes_version": meeting.notes_version,
        "present": present_people(meeting.id),
    }


def open_stream_count() -> int:
    """Live meeting streams open now, across every web process."""
    fresh = utcnow() - timedelta(seconds=PRESENCE_TTL_S)
    return db.session.scalar(
        select(func.count())
        .select_from(MeetingConnection)
        .where(MeetingConnection.closed_at.is_(None), MeetingConnection.seen_at >= fresh)
    )
