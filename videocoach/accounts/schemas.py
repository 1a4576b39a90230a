from __future__ import annotations

from marshmallow import fields

from videocoach.api import BaseSchema


class UserSchema(BaseSchema):
    id = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class UserEnvelope(BaseSchema):
    user = fields.Nested(UserSchema)


class RegisterSchema(BaseSchema):
    email = fields.String(required=True, metadata={"example": "ana@school.example"})
    password = fields.String(
        required=True, load_only=True, metadata={"description": "At least 10 characters."}
    )
    name = fields.String(required=True, metadata={"example": "Ana Lima"})


class CredentialsSchema(BaseSchema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    label = fields.String(load_default="", metadata={"description": "What the token is for."})


class TokenSchema(BaseSchema):
    token = fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`."})
    user = fields.Nested(UserSchema)
