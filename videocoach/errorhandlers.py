"""One place that turns errors into responses: JSON for /api, pages elsewhere."""

from __future__ import annotations

import logging
import re
from typing import Any

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc
from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from videocoach import db
from videocoach.api import API_PREFIX, error_response
from videocoach.errors import DomainError
from videocoach.observability import logs

log = logging.getLogger(__name__)

_CODES = {
    400: ("bad_request", "The request is malformed."),
    401: ("unauthorized", "Sign in, or send a valid API token."),
    403: ("forbidden", "You are not allowed to do that."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "That method is not allowed here."),
    409: ("conflict", "That conflicts with the current state."),
    413: ("too_large", "That is too large."),
    415: ("unsupported_media_type", "That media type is not supported."),
    416: ("range_not_satisfiable", "That byte range lies outside the file."),
    422: ("validation_failed", "Some values are not valid."),
    429: ("rate_limited", "Too many attempts. Wait a minute and try again."),
    500: ("internal_error", "Something went wrong on our side. Please try again."),
    503: ("service_unavailable", "The service is not available right now. Try again soon."),
}


def wants_json() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _flatten_validation(messages: Any) -> dict[str, str]:
    """webargs gives {"json": {"field": ["msg", ...]}}; the API gives {"field": "msg"}."""
    fields: dict[str, str] = {}
    if not isinstance(messages, dict):
        return fields
    for location_errors in messages.values():
        if not isinstance(location_errors, dict):
            continue
        for name, errors in location_errors.items():
            if isinstance(errors, list) and errors and isinstance(errors[0], str):
                fields[str(name)] = errors[0]
            elif isinstance(errors, dict):
                fields[str(name)] = "Not valid."
            else:
                fields[str(name)] = str(errors)
    return fields


def _render(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    if wants_json():
        return error_response(status, code, message, fields)
    page = render_template(
        "error.html", status=status, message=message, request_id=logs.current_request_id()
    )
    return page, status


def handle_domain_error(error: DomainError) -> ResponseReturnValue:
    body, status = _render(error.status, error.code, error.message, error.fields)  # type: ignore[misc]
    return body, status, error.headers


def handle_csrf_error(error: CSRFError) -> ResponseReturnValue:
    message = (
        "This form has expired or was not sent from videocoach. Reload the page and try again."
    )
    return _render(400, "csrf_failed", message)


def handle_http_exception(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    code, message = _CODES.get(status, ("error", error.description or "Error."))
    fields: dict[str, str] = {}
    data = getattr(error, "data", None) or {}
    if status in (400, 422) and "messages" in data:
        fields = _flatten_validation(data["messages"])
        if status == 400:
            message = "The request body is not valid JSON."
        elif fields:
            message = next(iter(fields.values()))
            message = f"{next(iter(fields))}: {message}" if len(fields) == 1 else message
    if status == 413 and error.description and not error.description.startswith("The data"):
        message = error.description
    # A limit with a sentence of its own (resending invitations: per hour, not per minute).
    if status == 429 and getattr(getattr(error, "limit", None), "error_message", None):
        message = error.description or message
    response = _render(status, code, message, fields or None)
    if isinstance(error, HTTPException) and status == 405 and error.valid_methods:
        body, st = response  # type: ignore[misc]
        return body, st, {"Allow": ", ".join(error.valid_methods)}
    return response


def handle_unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on %s %s", request.method, re.sub(r"\s", "", request.path))
    # A failed flush leaves the session unusable, and the error page asks it for the user.
    db.session.rollback()
    return handle_http_exception(InternalServerError())


# Nothing a person did wrong, and nothing to fix by changing the request: a dependency is
# away for a moment. The transaction was rolled back, so trying again later is safe.
DATABASE_AWAY = (
    "The service cannot reach its database right now, so nothing was saved. Try again in a minute."
)
QUEUE_AWAY = "The service cannot reach its job queue or Redis right now. Try again in a minute."


def handle_database_away(error: sqlalchemy.exc.OperationalError) -> ResponseReturnValue:
    log.error("database unreachable on %s %s: %s", request.method, request.path, error.orig)
    db.session.rollback()
    return _unavailable(DATABASE_AWAY)


def handle_queue_away(error: Exception) -> ResponseReturnValue:
    log.error("broker or Redis unreachable on %s %s: %s", request.method, request.path, error)
    return _unavailable(QUEUE_AWAY)


def handle_unstorable_value(error: sqlalchemy.exc.DataError) -> ResponseReturnValue:
    """A value the database cannot hold at all (PostgreSQL refuses NUL in text, e.g. in an
    id from the URL): the request was malformed; nothing with that value can exist."""
    log.info("refused a value the database cannot store on %s: %s", request.path, error.orig)
    db.session.rollback()
    return _render(422, "validation_failed", "Some values contain characters that are not allowed.")


def _unavailable(message: str) -> ResponseReturnValue:
    headers = {"Retry-After": "30"}
    if wants_json():
        body, status = error_response(503, "service_unavailable", message)  # type: ignore[misc]
        return body, status, headers
    # Drawn without the context processors: they would ask the database for the user.
    page = current_app.jinja_env.get_template("unavailable.html").render(
        message=message, request_id=logs.current_request_id()
    )
    return page, 503, headers


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(sqlalchemy.exc.OperationalError, handle_database_away)
    app.register_error_handler(sqlalchemy.exc.InterfaceError, handle_database_away)
    app.register_error_handler(sqlalchemy.exc.DataError, handle_unstorable_value)
    app.register_error_handler(kombu.exceptions.OperationalError, handle_queue_away)
    app.register_error_handler(redis.exceptions.ConnectionError, handle_queue_away)
    app.register_error_handler(redis.exceptions.TimeoutError, handle_queue_away)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    if not app.debug:
        app.register_error_handler(Exception, handle_unexpected)
