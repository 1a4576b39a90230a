from __future__ import annotations

from marshmallow import fields, validate

from videocoach.accounts.schemas import UserSchema
from videocoach.api import DATE_OR_EMPTY, BaseSchema, ResponseSchema, describe
from videocoach.partnerships.models import GoalStatus, Role

ROLES = [role.value for role in Role]
GOAL_STATUSES = [status.value for status in GoalStatus]


class MemberSchema(ResponseSchema):
    user = fields.Nested(UserSchema)
    role = fields.String(metadata={"enum": ROLES})


class PartnershipSchema(ResponseSchema):
    id = fields.String()
    name = fields.String()
    members = fields.List(fields.Nested(MemberSchema), attribute="memberships")
    created_at = fields.DateTime()
    archived_at = fields.DateTime(allow_none=True)


class PartnershipEnvelope(ResponseSchema):
    partnership = fields.Nested(PartnershipSchema)


class PartnershipList(ResponseSchema):
    items = fields.List(fields.Nested(PartnershipSchema))


class PartnershipCreateSchema(BaseSchema):
    name = fields.String(required=True, metadata={"example": "Ana + Ben, 2026-27", "minLength": 1})
    role = fields.String(
        required=True,
        metadata={"enum": ROLES, "description": "The creator's own role in the partnership."},
    )


class PartnershipUpdateSchema(BaseSchema):
    name = fields.String(required=True)


class InvitationCreateSchema(BaseSchema):
    email = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ROLES})


class InvitationSchema(ResponseSchema):
    id = fields.String()
    email = fields.String()
    role = fields.String(metadata={"enum": ROLES})
    created_at = fields.DateTime()
    sent_at = fields.DateTime(metadata={"description": "When its link was last emailed"})
    expires_at = fields.DateTime()
    accept_url = fields.String(
        allow_none=True,
        metadata={
            "description": "The single-use link. Resending makes a new one and the old one "
            "stops working. Null for an invitation made before links could be shown again: "
            "resend it to get one."
        },
    )


class InvitationList(ResponseSchema):
    items = fields.List(fields.Nested(InvitationSchema))


class AcceptSchema(BaseSchema):
    token = fields.String(required=True)


class GoalSchema(ResponseSchema):
    id = fields.String()
    partnership_id = fields.String()
    title = fields.String()
    description = fields.String()
    success_criteria = fields.String()
    status = fields.String(metadata={"enum": GOAL_STATUSES})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    met_at = fields.DateTime(allow_none=True)


class GoalEnvelope(ResponseSchema):
    goal = fields.Nested(GoalSchema)


class GoalList(ResponseSchema):
    items = fields.List(fields.Nested(GoalSchema))


class GoalCreateSchema(BaseSchema):
    title = fields.String(required=True, metadata={"minLength": 1})
    description = fields.String(load_default="", allow_none=True)
    success_criteria = fields.String(load_default="", allow_none=True)


class GoalUpdateSchema(BaseSchema):
    title = fields.String()
    description = fields.String(allow_none=True)
    success_criteria = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(GOAL_STATUSES))


class GoalQuerySchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(GOAL_STATUSES))


class NextStepSchema(ResponseSchema):
    id = fields.String()
    partnership_id = fields.String()
    meeting_id = fields.String(allow_none=True, metadata={"description": "Agreed in this meeting"})
    text = fields.String()
    goal_id = fields.String(allow_none=True)
    owner = fields.Nested(UserSchema, allow_none=True)
    due_on = fields.Date(allow_none=True)
    done = fields.Function(lambda step: step.done_at is not None, metadata={"type": "boolean"})
    done_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class NextStepEnvelope(ResponseSchema):
    next_step = fields.Nested(NextStepSchema)


class NextStepList(ResponseSchema):
    items = fields.List(fields.Nested(NextStepSchema))


class NextStepQuery(BaseSchema):
    include_done = fields.Boolean(load_default=False)


class NextStepCreateSchema(BaseSchema):
    text = fields.Raw(required=True, metadata={"type": "string", "minLength": 1})
    goal_id = fields.Raw(allow_none=True, metadata={"type": "string"})
    owner_id = fields.Raw(allow_none=True, metadata={"type": "string"})
    due_on = fields.Raw(allow_none=True, metadata=DATE_OR_EMPTY)
    meeting_id = fields.Raw(allow_none=True, metadata={"type": "string"})


class NextStepUpdateSchema(NextStepCreateSchema):
    class Meta(NextStepCreateSchema.Meta):
        exclude = ("meeting_id",)  # where a step was agreed does not change

    text = fields.Raw(metadata={"type": "string"})
    done = fields.Raw(metadata={"type": "boolean"})


describe(
    "POST /partnerships/{pid}/invitations",
    errors={409: "The address belongs to a member already (`already_member`)"},
)
describe(
    "POST /partnerships/{pid}/invitations/{iid}/resend",
    errors={
        404: "The invitation does not exist or was accepted already (`not_found`)",
        429: "This account resent 10 invitations in the last hour (`rate_limited`)",
    },
    rate_limited=True,
)
describe(
    "POST /invitations/accept",
    errors={
        403: "The invitation is for another email address (`wrong_account`)",
        404: "The token is unknown, used or expired (`invitation_invalid`)",
        409: "The caller is a member already (`already_member`)",
    },
)
describe(
    "DELETE /partnerships/{pid}/members/{uid}",
    errors={409: "The last member cannot leave (`last_member`)"},
)
