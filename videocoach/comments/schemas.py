from __future__ import annotations

from marshmallow import fields

from videocoach.accounts.schemas import PersonSchema, UserSchema
from videocoach.api import BaseSchema, ResponseSchema, describe
from videocoach.comments.services import KINDS


class CommentSchema(ResponseSchema):
    """The shape of services.comment_json (which builds it: lists run to thousands)."""

    id = fields.String()
    clip_id = fields.String()
    author = fields.Nested(UserSchema)
    body = fields.String(metadata={"description": "Plain text as written"})
    body_html = fields.String(metadata={"description": "Sanitised HTML to show"})
    t_start = fields.Float(metadata={"description": "Seconds from the start of the clip"})
    t_end = fields.Float(allow_none=True)
    kind = fields.String(metadata={"enum": KINDS})
    goal_ids = fields.List(fields.String())
    parent_id = fields.String(allow_none=True)
    private = fields.Boolean()
    resolved = fields.Boolean(metadata={"description": "A thread's; always false on a reply"})
    resolved_by = fields.Nested(
        PersonSchema, allow_none=True, metadata={"description": "Who resolved the thread"}
    )
    created_at = fields.String(metadata={"format": "date-time"})
    edited_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    outside_shared = fields.Boolean(
        metadata={
            "description": "At a moment the uploader has since cut from what the partnership "
            "sees (a redaction's trim): shown to its author alone"
        }
    )


class CommentEnvelope(ResponseSchema):
    comment = fields.Nested(CommentSchema)


class CommentList(ResponseSchema):
    items = fields.List(fields.Nested(CommentSchema))


class CommentFilters(BaseSchema):
    goal_id = fields.String()
    kind = fields.String()
    author_id = fields.String()


class CommentCreateSchema(BaseSchema):
    """Validated in the service (one set of rules and messages for every caller)."""

    body = fields.Raw(required=True, metadata={"type": "string", "minLength": 1})
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


AUTHOR_ONLY = "A member who is not the comment's author (`forbidden`)"
RESOLVE_ONLY = (
    "A member who is not the comment's author and sends more than `resolved` (`forbidden`)"
)
describe("PATCH /comments/{comment_id}", errors={403: RESOLVE_ONLY})
describe("DELETE /comments/{comment_id}", errors={403: AUTHOR_ONLY})
