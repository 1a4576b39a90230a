"""API v1: register, tokens, me."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_login import login_required
from flask_smorest import Blueprint

from videocoach import transaction
from videocoach.accounts import services
from videocoach.accounts.auth import Unauthorized, api_user
from videocoach.accounts.schemas import CredentialsSchema, RegisterSchema, TokenSchema, UserEnvelope
from videocoach.api import API_PREFIX
from videocoach.config import current_settings
from videocoach.extensions import limiter

blp = Blueprint("accounts_api", __name__, url_prefix=API_PREFIX, description="Accounts and tokens")


def login_rate_limit() -> str:
    return current_settings().login_rate_limit


@blp.route("/auth/register", methods=["POST"])
@limiter.limit(login_rate_limit)
@blp.arguments(RegisterSchema)
@blp.response(201, UserEnvelope)
def register(body: dict[str, Any]) -> dict[str, Any]:
    """Create an account (403 `signup_closed` when sign-up is closed).

    An address that already has an account gets the same 201 answer (its owner is
    emailed instead), so this endpoint never tells who has an account."""
    settings = current_settings()
    email = services.normalise_email(body["email"])
    services.check_signup_allowed(
        email, signup_open=settings.signup_open, domains=settings.signup_domains
    )
    user, _created = services.sign_up(email, body["password"], body["name"])
    transaction.commit()
    return {"user": user}


@blp.route("/auth/tokens", methods=["POST"])
@limiter.limit(login_rate_limit)
@blp.arguments(CredentialsSchema)
@blp.response(201, TokenSchema)
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for an API token (shown once; stored hashed)."""
    user = services.authenticate(body["email"], body["password"])
    if user is None:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    raw, _token = services.issue_token(user, body.get("label", ""))
    transaction.commit()
    return {"token": raw, "user": user}


@blp.route("/auth/tokens/current", methods=["DELETE"])
@login_required
@blp.response(204)
def revoke_current_token() -> None:
    """Revoke the token this request authenticated with."""
    token = g.get("api_token")
    if token is None:
        raise Unauthorized(
            "This request did not use an API token; send the token to revoke.",
            code="no_token",
        )
    services.revoke_token(token)
    transaction.commit()


@blp.route("/me", methods=["GET"])
@login_required
@blp.response(200, UserEnvelope)
def me() -> dict[str, Any]:
    return {"user": api_user()}
