from __future__ import annotations

from marshmallow import fields

from videocoach import limits
from videocoach.accounts.services import MIN_PASSWORD_LENGTH
from videocoach.api import BaseSchema, ResponseSchema, describe


class UserSchema(ResponseSchema):
    id = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class PersonSchema(ResponseSchema):
    """Who someone is, as other members see them: no email."""

    id = fields.String()
    name = fields.String()


class UserEnvelope(ResponseSchema):
    user = fields.Nested(UserSchema)


class RegisterSchema(BaseSchema):
    email = fields.String(required=True, metadata={"example": "ana@school.example"})
    # The service checks these (services.password_problem); the document shows its numbers.
    password = fields.String(
        required=True,
        load_only=True,
        metadata={
            "minLength": MIN_PASSWORD_LENGTH,
            "maxLength": limits.PASSWORD_MAX,
            "description": f"{MIN_PASSWORD_LENGTH} to {limits.PASSWORD_MAX:,} characters; not a "
            "common password, at least 4 different characters, not the name or the email.",
        },
    )
    name = fields.String(required=True, metadata={"example": "Ana Lima"})


class CredentialsSchema(BaseSchema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    label = fields.String(load_default="", metadata={"description": "What the token is for."})


class TokenSchema(ResponseSchema):
    token = fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`."})
    user = fields.Nested(UserSchema)


describe(
    "POST /auth/register",
    public=True,
    rate_limited=True,
    errors={
        403: "Sign-up is closed (`signup_closed`)",
        422: "A value is not valid (`validation_failed` with `fields`; `email_domain_not_allowed`)",
    },
)
describe(
    "POST /auth/tokens",
    public=True,
    rate_limited=True,
    errors={401: "Wrong email or password, or a disabled account (`invalid_credentials`)"},
)
describe(
    "DELETE /auth/tokens/current",
    errors={
        401: "No credentials or a bad token (`unauthorized`, `invalid_token`), or the request "
        "used a session cookie, not a token (`no_token`)"
    },
)
