"""API v1: meetings (live review sessions) and their event stream."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_login import login_required
from flask_smorest import Blueprint

from videocoach import transaction
from videocoach.accounts.auth import api_user
from videocoach.api import API_PREFIX
from videocoach.meetings import services, stream
from videocoach.meetings.schemas import (
    DriverUpdateSchema,
    MeetingEnvelope,
    MeetingList,
    NotesUpdateSchema,
    PlaybackEnvelope,
    PlaybackUpdateSchema,
)
from videocoach.partnerships import next_steps

blp = Blueprint("meetings_api", __name__, url_prefix=API_PREFIX, description="Meetings")


def meeting_envelope(meeting: Any) -> dict[str, Any]:
    steps = next_steps.list_meeting_steps(api_user(), meeting.id)
    body = services.meeting_json(meeting)
    body["next_steps"] = steps  # dumped by NextStepSchema
    return {"meeting": body}


@blp.route("/clips/<cid>/meetings", methods=["POST"])
@login_required
@blp.response(201, MeetingEnvelope)
@blp.alt_response(200, schema=MeetingEnvelope, description="A meeting was already running")
def start_meeting(cid: str) -> tuple[dict[str, Any], int]:
    """Start a meeting on a shared clip, or join the one already running on it."""
    meeting, created = services.start_meeting(api_user(), cid)
    transaction.commit()
    return meeting_envelope(meeting), 201 if created else 200


@blp.route("/partnerships/<pid>/meetings", methods=["GET"])
@login_required
@blp.response(200, MeetingList)
def list_meetings(pid: str) -> dict[str, Any]:
    meetings = services.list_meetings(api_user(), pid)
    return {"items": [services.meeting_json(meeting) for meeting in meetings]}


@blp.route("/meetings/<mid>", methods=["GET"])
@login_required
@blp.response(200, MeetingEnvelope)
def get_meeting(mid: str) -> dict[str, Any]:
    return meeting_envelope(services.get_meeting(api_user(), mid))


@blp.route("/meetings/<mid>/end", methods=["POST"])
@login_required
@blp.response(200, MeetingEnvelope)
def end_meeting(mid: str) -> dict[str, Any]:
    """Any member may end it; its notes and next steps stay."""
    meeting = services.end_meeting(api_user(), mid)
    transaction.commit()
    return meeting_envelope(meeting)


@blp.route("/meetings/<mid>/playback", methods=["PUT"])
@login_required
@blp.arguments(PlaybackUpdateSchema)
@blp.response(200, PlaybackEnvelope)
def set_playback(body: dict[str, Any], mid: str) -> dict[str, Any]:
    """The driver's play, pause, seek or speed (403 `not_driver` for anyone else)."""
    client_id = body.pop("client_id", None)
    meeting = services.set_playback(api_user(), mid, body, client_id)
    transaction.commit()
    return {"playback": services.playback_json(meeting)}


@blp.route("/meetings/<mid>/driver", methods=["PUT"])
@login_required
@blp.arguments(DriverUpdateSchema)
@blp.response(200, MeetingEnvelope)
def hand_over(body: dict[str, Any], mid: str) -> dict[str, Any]:
    """The driver hands over; anyone may take it when the driver has left."""
    meeting = services.hand_over(api_user(), mid, body["driver_id"])
    transaction.commit()
    return meeting_envelope(meeting)


@blp.route("/meetings/<mid>/notes", methods=["PUT"])
@login_required
@blp.arguments(NotesUpdateSchema)
@blp.response(200, MeetingEnvelope)
def save_notes(body: dict[str, Any], mid: str) -> dict[str, Any]:
    """409 `notes_changed` when someone saved since `notes_version`: nothing is overwritten."""
    meeting = services.save_notes(api_user(), mid, body["notes"], body["notes_version"])
    transaction.commit()
    return meeting_envelope(meeting)


@blp.route("/meetings/<mid>/events", methods=["GET"])
@login_required
@blp.response(
    200,
    description="text/event-stream: hello, playback, driver, presence, "
    "comment, comment_deleted, notes, next_step, next_step_deleted, ended, bye",
)
def meeting_events(mid: str) -> Response:
    """The meeting's live events (Server-Sent Events)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    events = stream.open_meeting_stream(app, api_user(), mid)
    response = Response(events, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-store"
    # nginx would otherwise hold events back in its buffer.
    response.headers["X-Accel-Buffering"] = "no"
    return response
