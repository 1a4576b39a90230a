"""API v1: the caller's notifications."""

from __future__ import annotations

from typing import Any

from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import fields

from videocoach import transaction
from videocoach.accounts.auth import api_user
from videocoach.api import API_PREFIX, BaseSchema
from videocoach.notifications import services
from videocoach.notifications.models import Event

blp = Blueprint("notifications_api", __name__, url_prefix=API_PREFIX, description="Notifications")


class ActorSchema(BaseSchema):
    id = fields.String()
    name = fields.String(allow_none=True)


class NotificationSchema(BaseSchema):
    """The shape of services.item_json."""

    id = fields.String()
    event = fields.String(metadata={"enum": [event.value for event in Event]})
    text = fields.String(metadata={"description": "What happened, in one sentence"})
    actor = fields.Nested(ActorSchema, allow_none=True)
    partnership_id = fields.String(allow_none=True)
    clip_id = fields.String(allow_none=True)
    clip_title = fields.String(allow_none=True)
    comment_id = fields.String(allow_none=True)
    url = fields.String(metadata={"description": "The page it is about"})
    read = fields.Boolean()
    created_at = fields.String(metadata={"format": "date-time"})


class NotificationList(BaseSchema):
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


class MarkReadResult(BaseSchema):
    marked = fields.Integer()
    unread = fields.Integer()


@blp.route("/notifications", methods=["GET"])
@login_required
@blp.response(200, NotificationList)
def list_notifications() -> dict[str, Any]:
    """The newest 50 notifications of the caller, and how many are unread."""
    user = api_user()
    items = [services.item_json(item) for item in services.list_notifications(user)]
    return {"items": items, "unread": services.unread_count(user)}


@blp.route("/notifications/read", methods=["POST"])
@login_required
@blp.arguments(MarkReadSchema)
@blp.response(200, MarkReadResult)
def mark_read(body: dict[str, Any]) -> dict[str, Any]:
    """Mark the given notifications read, or all of them."""
    user = api_user()
    marked = services.mark_read(user, body.get("ids"))
    transaction.commit()
    return {"marked": marked, "unread": services.unread_count(user)}
