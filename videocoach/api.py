"""API v1 plumbing: the flask-smorest Api, the JSON error format and shared schema bits."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from marshmallow import EXCLUDE, Schema

API_PREFIX = "/api/v1"


class VideocoachApi(Api):
    # Errors are formatted app-wide by videocoach.errorhandlers (one format for every route).
    def _register_error_handlers(self) -> None:
        pass


class BaseSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # clients may send more than we read; the contract lists what we read


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> ResponseReturnValue:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return jsonify({"error": error}), status


def init_api(app: Flask) -> VideocoachApi:
    app.config.update(
        API_TITLE="videocoach",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = VideocoachApi(
        app,
        spec_kwargs={
            "info": {"description": "The public videocoach HTTP API (see API.md)."},
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]

    from videocoach.accounts.api import blp as accounts_api
    from videocoach.clips.api import blp as clips_api
    from videocoach.clips.tus import blp as tus_api
    from videocoach.comments.api import blp as comments_api
    from videocoach.meetings.api import blp as meetings_api
    from videocoach.notifications.api import blp as notifications_api
    from videocoach.partnerships.api import blp as partnerships_api

    api.register_blueprint(accounts_api)
    api.register_blueprint(partnerships_api)
    api.register_blueprint(clips_api)
    api.register_blueprint(tus_api)
    api.register_blueprint(comments_api)
    api.register_blueprint(notifications_api)
    api.register_blueprint(meetings_api)
    return api
