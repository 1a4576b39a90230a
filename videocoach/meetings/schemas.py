from __future__ import annotations

from marshmallow import fields

from videocoach.accounts.schemas import PersonSchema
from videocoach.api import BaseSchema, ResponseSchema, describe
from videocoach.meetings.services import RATES
from videocoach.partnerships.schemas import NextStepSchema


class PlaybackSchema(ResponseSchema):
    position = fields.Float(metadata={"description": "Seconds into the clip, now"})
    playing = fields.Boolean()
    rate = fields.Float()
    driver = fields.Nested(PersonSchema, allow_none=True)


class MeetingSummarySchema(ResponseSchema):
    """The shape of services.meeting_json (lists give this)."""

    id = fields.String()
    partnership_id = fields.String()
    clip_id = fields.String()
    started_by = fields.Nested(PersonSchema, allow_none=True)
    started_at = fields.String(metadata={"format": "date-time"})
    ended_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    playback = fields.Nested(PlaybackSchema)
    notes = fields.String()
    notes_version = fields.Integer()
    present = fields.List(fields.Nested(PersonSchema))


class MeetingSchema(MeetingSummarySchema):
    """A meeting, with the steps agreed in it."""

    next_steps = fields.List(fields.Nested(NextStepSchema))


class MeetingEnvelope(ResponseSchema):
    meeting = fields.Nested(MeetingSchema)


class MeetingList(ResponseSchema):
    items = fields.List(fields.Nested(MeetingSummarySchema))


class PlaybackUpdateSchema(BaseSchema):
    position = fields.Raw(
        metadata={
            "type": "number",
            "minimum": 0,
            "description": "Seek to (seconds, at most the clip's duration + 1)",
        }
    )
    playing = fields.Raw(metadata={"type": "boolean"})
    rate = fields.Raw(metadata={"type": "number", "enum": list(RATES)})
    client_id = fields.String(
        metadata={"description": "The sending page's id, echoed in the event so it can skip it"}
    )


class PlaybackEnvelope(ResponseSchema):
    playback = fields.Nested(PlaybackSchema)


class DriverUpdateSchema(BaseSchema):
    driver_id = fields.Raw(required=True, metadata={"type": "string"})


class NotesUpdateSchema(BaseSchema):
    notes = fields.Raw(required=True, metadata={"type": "string"})
    notes_version = fields.Raw(
        required=True, metadata={"type": "integer", "description": "The version you edited"}
    )


describe(
    "POST /clips/{cid}/meetings",
    errors={409: "The clip is private: meetings are on shared clips only (`clip_private`)"},
)
NOT_DRIVER = "Only the person driving may do this (`not_driver`)"
ENDED = "The meeting has ended (`meeting_ended`)"
describe("PUT /meetings/{mid}/playback", errors={403: NOT_DRIVER, 409: ENDED})
describe("PUT /meetings/{mid}/driver", errors={403: NOT_DRIVER, 409: ENDED})
describe(
    "PUT /meetings/{mid}/notes",
    errors={409: "Someone saved the notes since `notes_version` (`notes_changed`)"},
)
EVENT_NAMES = [
    "hello",
    "presence",
    "playback",
    "driver",
    "comment",
    "comment_deleted",
    "notes",
    "next_step",
    "next_step_deleted",
    "ended",
    "bye",
    "resync",
]
# One event of the stream, as an SSE parser gives it: `data` is JSON text.
EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": EVENT_NAMES},
        "data": {"type": "string", "description": "JSON: the event's object"},
        "retry": {"type": "integer", "description": "Milliseconds before reconnecting"},
    },
    "required": ["event", "data"],
}
describe(
    "GET /meetings/{mid}/events",
    responses={
        "200": {
            "description": "Server-Sent Events: hello, presence, playback, driver, comment, "
            "comment_deleted, notes, next_step, next_step_deleted, ended, bye, resync",
            "content": {"text/event-stream": {"schema": EVENT}},
        }
    },
    errors={
        409: ENDED,
        503: "Too many live streams are open on this web process "
        "(`too_many_live_connections`), or the database does not answer "
        "(`service_unavailable`)",
    },
)
