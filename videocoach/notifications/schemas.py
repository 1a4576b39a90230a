from __future__ import annotations

from marshmallow import fields

from videocoach.api import BaseSchema, ResponseSchema
from videocoach.notifications.models import Event


class ActorSchema(ResponseSchema):
    id = fields.String()
    name = fields.String(allow_none=True)


class NotificationSchema(ResponseSchema):
    """The shape of services.item_json."""

    id = fields.String()
    event = fields.String(metadata={"enum": [event.value for event in Event]})
    text = fields.String(metadata={"description": "What happened, in one sentence"})
    actor = fields.Nested(ActorSchema, allow_none=True)
    partnership_id = fields.String(allow_none=True)
    clip_id = fields.String(allow_none=True)
    clip_title = fields.String(allow_none=True)
    comment_id = fields.String(allow_none=True)
    excerpt = fields.String(
        allow_none=True,
        metadata={"description": "The first words of the comment, as plain text, or null"},
    )
    url = fields.String(metadata={"description": "The page it is about"})
    read = fields.Boolean()
    created_at = fields.String(metadata={"format": "date-time"})


class NotificationList(ResponseSchema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer(metadata={"description": "Unread notifications in all"})


class MarkReadSchema(BaseSchema):
    ids = fields.Raw(
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "Which to mark read; all of them when omitted",
        }
    )


class MarkReadResult(ResponseSchema):
    marked = fields.Integer()
    unread = fields.Integer()
