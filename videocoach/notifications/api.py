"""API v1: the caller's notifications."""

from __future__ import annotations

from typing import Any

from flask_login import login_required
from flask_smorest import Blueprint

from videocoach import transaction
from videocoach.accounts.auth import api_user
from videocoach.api import API_PREFIX
from videocoach.notifications import services
from videocoach.notifications.schemas import MarkReadResult, MarkReadSchema, NotificationList

blp = Blueprint("notifications_api", __name__, url_prefix=API_PREFIX, description="Notifications")


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
