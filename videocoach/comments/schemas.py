from __future__ import annotations

from marshmallow import fields

from videocoach.accounts.schemas import UserSchema
from videocoach.api import BaseSchema
from videocoach.comments.formatting import body_html
from videocoach.comments.models import Comment
from videocoach.comments.services import KINDS


class CommentSchema(BaseSchema):
    id = fields.String()
    clip_id = fields.String()
    author = fields.Nested(UserSchema)
    body = fields.String(metadata={"description": "Plain text as written"})
    body_html = fields.Method("_body_html", metadata={"description": "Sanitised HTML to show"})
    t_start = fields.Method("_t_start", metadata={"type": "number"})
    t_end = fields.Method("_t_end", allow_none=True, metadata={"type": "number"})
    kind = fields.String(metadata={"enum": KINDS})
    goal_ids = fields.Method("_goal_ids", metadata={"type": "array"})
    parent_id = fields.String(allow_none=True)
    private = fields.Boolean()
    resolved = fields.Method("_resolved", metadata={"type": "boolean"})
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)

    def _body_html(self, comment: Comment) -> str:
        return body_html(comment.body)

    def _t_start(self, comment: Comment) -> float:
        return comment.t_start_ms / 1000

    def _t_end(self, comment: Comment) -> float | None:
        return None if comment.t_end_ms is None else comment.t_end_ms / 1000

    def _goal_ids(self, comment: Comment) -> list[str]:
        return [goal.id for goal in comment.goals]

    def _resolved(self, comment: Comment) -> bool:
        return comment.resolved_at is not None


class CommentEnvelope(BaseSchema):
    comment = fields.Nested(CommentSchema)


class CommentList(BaseSchema):
    items = fields.List(fields.Nested(CommentSchema))


class CommentFilters(BaseSchema):
    goal_id = fields.String()
    kind = fields.String()
    author_id = fields.String()


class CommentCreateSchema(BaseSchema):
    """Validated in the service (one set of rules and messages for every caller)."""

    body = fields.Raw(required=True, metadata={"type": "string"})
    t_start = fields.Raw(metadata={"type": "number", "description": "Seconds; a reply may omit"})
    t_end = fields.Raw(allow_none=True, metadata={"type": "number"})
    kind = fields.Raw(metadata={"type": "string", "enum": KINDS})
    goal_ids = fields.Raw(metadata={"type": "array", "items": {"type": "string"}})
    parent_id = fields.Raw(allow_none=True, metadata={"type": "string"})
    private = fields.Raw(metadata={"type": "boolean"})


class CommentUpdateSchema(BaseSchema):
    body = fields.Raw(metadata={"type": "string"})
    t_start = fields.Raw(metadata={"type": "number"})
    t_end = fields.Raw(allow_none=True, metadata={"type": "number"})
    kind = fields.Raw(metadata={"type": "string", "enum": KINDS})
    goal_ids = fields.Raw(metadata={"type": "array", "items": {"type": "string"}})
    resolved = fields.Raw(metadata={"type": "boolean"})
