"""Who is calling: session cookies for pages, bearer tokens for scripts, CSRF for cookies."""

from __future__ import annotations

from flask import Flask, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from videocoach.accounts.models import User
from videocoach.accounts.services import record_token_use, user_for_token
from videocoach.accounts.sessions import user_for_session
from videocoach.errorhandlers import wants_json
from videocoach.errors import DomainError
from videocoach.extensions import csrf, login_manager

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# One-click unsubscribe (RFC 8058): mail clients POST to the link in List-Unsubscribe
# without a session or a CSRF token; the signed token in the URL is the credential, and
# all a forged request could do is switch off that one person's emails.
CSRF_EXEMPT_ENDPOINTS = frozenset({"notifications.unsubscribe"})


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = "Sign in, or send a valid API token."


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _has_authorization_header() -> bool:
    return bool(request.headers.get("Authorization"))


def load_session_user(session_id: str) -> User | None:
    """The session and remember cookies name a sign-in (UserSession), not a person."""
    # A request that names its credentials is judged by them alone, never by a cookie.
    if _has_authorization_header():
        return None
    user = user_for_session(session_id)
    if user is None:
        session["_remember"] = "clear"  # Flask-Login then deletes a dead remember cookie
    return user


def load_token_user(_request: object) -> User | None:
    token = bearer_token()
    if token is None:
        return None
    found = user_for_token(token)
    if found is None:
        return None
    user, api_token = found
    g.api_token = api_token
    record_token_use(api_token)
    return user


def unauthorized() -> ResponseReturnValue:
    if wants_json():
        message = (
            "That API token is not valid (revoked, or its account is disabled)."
            if _has_authorization_header()
            else "Sign in, or send an API token in the Authorization header."
        )
        raise Unauthorized(message, code="invalid_token" if _has_authorization_header() else None)
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def protect_cookie_requests() -> None:
    """CSRF applies to every unsafe request that a cookie could authenticate.

    Bearer-token requests cannot be forged cross-site (a browser will not add the
    header without a CORS preflight, which we never allow), so they skip it.
    """
    if request.method not in UNSAFE_METHODS or _has_authorization_header():
        return
    if request.endpoint in CSRF_EXEMPT_ENDPOINTS:
        return
    if wants_json() and not request.cookies:
        return  # a script with no session: nothing a forged request could borrow
    csrf.protect()


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_session_user)
    login_manager.id_attribute = "session_cookie_id"
    login_manager.request_loader(load_token_user)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    app.before_request(protect_cookie_requests)


def api_user() -> User:
    """The authenticated caller of an API view decorated with login_required."""
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]
