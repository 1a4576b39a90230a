"""API v1: comments on clips."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_login import login_required
from flask_smorest import Blueprint

from videocoach import transaction
from videocoach.accounts.auth import api_user
from videocoach.api import API_PREFIX
from videocoach.comments import services
from videocoach.comments.schemas import (
    CommentCreateSchema,
    CommentEnvelope,
    CommentFilters,
    CommentList,
    CommentUpdateSchema,
)

blp = Blueprint("comments_api", __name__, url_prefix=API_PREFIX, description="Comments")


@blp.route("/clips/<cid>/comments", methods=["GET"])
@login_required
@blp.arguments(CommentFilters, location="query")
@blp.response(200, CommentList)
def list_comments(filters: dict[str, Any], cid: str) -> Response:
    """Comments the caller may see, sorted by t_start; private notes only to their author."""
    return jsonify({"items": services.list_comments(api_user(), cid, **filters)})


@blp.route("/clips/<cid>/comments", methods=["POST"])
@login_required
@blp.arguments(CommentCreateSchema)
@blp.response(201, CommentEnvelope)
def create_comment(body: dict[str, Any], cid: str) -> dict[str, Any]:
    comment = services.create_comment(api_user(), cid, body)
    transaction.commit()
    return {"comment": services.comment_json(comment)}


@blp.route("/comments/<comment_id>", methods=["PATCH"])
@login_required
@blp.arguments(CommentUpdateSchema)
@blp.response(200, CommentEnvelope)
def update_comment(body: dict[str, Any], comment_id: str) -> dict[str, Any]:
    """The author changes anything; other members may only resolve or reopen a thread (403
    for anything else); a reply is resolved with its thread (422)."""
    comment = services.update_comment(api_user(), comment_id, body)
    transaction.commit()
    return {"comment": services.comment_json(comment)}


@blp.route("/comments/<comment_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_comment(comment_id: str) -> None:
    """Author only (403 for other members)."""
    services.delete_comment(api_user(), comment_id)
    transaction.commit()
