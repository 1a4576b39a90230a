"""API v1 plumbing: the flask-smorest Api, the JSON error format and shared schema bits.

Every feature's API imports from here, so this module imports no feature: the app
factory (videocoach.app) registers the features' blueprints on the Api made here."""

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
            "info": {"description": "The public videocoach HTTP API (see docs/api.md)."},
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    return api
