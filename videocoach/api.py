"""API v1 plumbing: the flask-smorest Api, the JSON error format and shared schema bits.

Every feature's API imports from here, so this module imports no feature: the app
factory (videocoach.app) registers the features' blueprints on the Api made here.

The OpenAPI document at /api/v1/openapi.json is the contract in machine form, and the
fuzz test (tests/test_api_fuzz.py) holds every answer to it. flask-smorest infers the
bodies from the views' schemas; what it cannot see is said here once for every route
(which errors any API route can give, see `_document`) and, per operation, by the
features' schemas modules through `describe` (their own errors, headers and non-JSON
bodies).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_smorest import Api, Blueprint
from flask_smorest.spec.plugins import FlaskPlugin
from marshmallow import EXCLUDE, Schema, fields

from videocoach.observability import logs

API_PREFIX = "/api/v1"
JSON = "application/json"
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
# A date field that null or "" clears (services parse it and refuse impossible dates).
DATE_OR_EMPTY = {
    "type": "string",
    "pattern": r"^(\d{4}-\d{2}-\d{2})?$",
    "description": "YYYY-MM-DD; null or an empty string clears it",
}


class BaseSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # clients may send more than we read; the contract lists what we read


class ResponseSchema(BaseSchema):
    """A response body: every field it lists is in every answer (null where allow_none), so
    the OpenAPI document marks them all required. Dumping never checks `required`."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.required = True


class Derived(fields.Nested):
    """A nested object (or list, with many=True) that `compute(obj)` makes from the whole
    object, documented by its schema like any Nested field."""

    def __init__(self, nested: Any, compute: Any, **kwargs: Any) -> None:
        super().__init__(nested, **kwargs)
        self.compute = compute

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> Any:
        return self.compute(obj)


class ErrorDetailSchema(BaseSchema):
    code = fields.String(
        required=True,
        metadata={"description": "Stable snake_case code: branch on it", "example": "not_found"},
    )
    message = fields.String(required=True, metadata={"description": "A sentence for a person"})
    request_id = fields.String(
        metadata={
            "description": "This request's id (also in the X-Request-Id header): quote it to "
            "the administrator, who finds the request's log lines by it"
        }
    )
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "On some 422 and 409 answers: request field -> message"},
    )


class ErrorSchema(BaseSchema):
    """The body of every error from an API route."""

    error = fields.Nested(ErrorDetailSchema, required=True)


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> ResponseReturnValue:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    request_id = logs.current_request_id()
    if request_id:
        error["request_id"] = request_id
    return jsonify({"error": error}), status


# What any API route may answer, by the rule in `_document` that says when.
GENERIC_ERRORS = {
    400: "The body is not valid JSON (`bad_request`), or a cookie request without a valid "
    "CSRF token (`csrf_failed`)",
    401: "No credentials, or an unknown or revoked token (`unauthorized`, `invalid_token`)",
    404: "Does not exist, or is not visible to the caller (`not_found`)",
    422: "A value is not valid (`validation_failed`, with `fields`; `too_long`)",
    429: "Too many attempts from this address (`rate_limited`)",
    503: "The database, the job queue or Redis does not answer right now; nothing was saved "
    "(`service_unavailable`)",
}
RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer"},
}
ERROR_HEADERS = {
    503: {"Retry-After": {**RETRY_AFTER, "required": True}},
    429: {"Retry-After": RETRY_AFTER},
}


@dataclass
class OperationDoc:
    """What flask-smorest cannot infer about one operation."""

    errors: dict[int, str] = field(default_factory=dict)
    responses: dict[str, Any] = field(default_factory=dict)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, Any] = field(default_factory=dict)
    request_body: dict[str, Any] | None = None
    public: bool = False
    rate_limited: bool = False


_DESCRIBED: dict[str, OperationDoc] = {}


def describe(
    operation: str,
    *,
    errors: dict[int, str] | None = None,
    responses: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    headers: dict[str, Any] | None = None,
    request_body: dict[str, Any] | None = None,
    public: bool = False,
    rate_limited: bool = False,
) -> None:
    """Document `operation` ("PATCH /clips/{cid}", the path after /api/v1) beyond its view's
    schemas: the errors its services raise (status -> what and which codes), responses that
    are not JSON (set as given, replacing the inferred one of that status), header
    parameters, a request body, headers on every answer (`headers`), and whether it needs
    no credentials (`public`) or is rate limited."""
    _DESCRIBED[operation] = OperationDoc(
        errors=errors or {},
        responses=responses or {},
        parameters=parameters or [],
        headers=headers or {},
        request_body=request_body,
        public=public,
        rate_limited=rate_limited,
    )


def described_operations() -> set[str]:
    return set(_DESCRIBED)


def header_parameter(name: str, description: str, schema: dict[str, Any], **extra: Any):
    return {"in": "header", "name": name, "description": description, "schema": schema, **extra}


# Spec paths name their methods lower-case.
_METHODS = frozenset(method.lower() for method in Blueprint.HTTP_METHODS)


class VideocoachApi(Api):
    # Errors are formatted app-wide by videocoach.errorhandlers (one format for every route).
    ERROR_SCHEMA = ErrorSchema
    # Each operation lists the errors it can give (`_document`); a catch-all `default`
    # response would make any status look documented.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._documented: set[tuple[str, str]] = set()
        super().__init__(*args, **kwargs)

    def _register_error_handlers(self) -> None:
        pass

    def register_blueprint(self, blp: Blueprint, **options: Any) -> None:
        super().register_blueprint(blp, **options)
        name = options.get("name", blp.name)
        for rule in self._app.url_map.iter_rules():
            if not rule.endpoint.startswith(name + "."):
                continue
            path = FlaskPlugin.flaskpath2openapi(rule.rule)
            # apispec has no public way to amend a registered path.
            for method, operation in self.spec._paths.get(path, {}).items():
                if method in _METHODS and (path, method) not in self._documented:
                    self._documented.add((path, method))
                    self._document(path, method, operation)

    def _resolve_schemas(self, response: dict[str, Any]) -> dict[str, Any]:
        """Marshmallow schemas in a described response become references, as in the views'."""
        for media in response.get("content", {}).values():
            schema = media.get("schema")
            if isinstance(schema, Schema) or (
                isinstance(schema, type) and issubclass(schema, Schema)
            ):
                media["schema"] = self.ma_plugin.converter.resolve_nested_schema(schema)
        return response

    def _json_body_optional(self, operation: dict[str, Any]) -> bool:
        schema = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema")
        if not schema or "$ref" not in schema:
            return False
        name = schema["$ref"].rsplit("/", 1)[-1]
        return not self.spec.components.schemas[name].get("required")

    def _document(self, path: str, method: str, operation: dict[str, Any]) -> None:
        doc = _DESCRIBED.get(f"{method.upper()} {path.removeprefix(API_PREFIX)}", OperationDoc())
        if doc.request_body is not None:
            operation["requestBody"] = doc.request_body
        elif self._json_body_optional(operation):
            # webargs reads a missing JSON body as {}: with no required field, it may be left out.
            operation["requestBody"]["required"] = False
        if doc.parameters:
            operation.setdefault("parameters", []).extend(doc.parameters)
        in_path = "{" in path
        queried = any(p.get("in") == "query" for p in operation.get("parameters", []))
        statuses: dict[int, str] = {503: GENERIC_ERRORS[503]}
        if method in UNSAFE_METHODS:
            statuses[400] = GENERIC_ERRORS[400]
        if doc.public:
            operation["security"] = []
        else:
            statuses[401] = GENERIC_ERRORS[401]
        if in_path:
            statuses[404] = GENERIC_ERRORS[404]
        # A path value the database cannot hold (NUL) is 422 too, not only a bad body.
        if in_path or queried or "requestBody" in operation:
            statuses[422] = GENERIC_ERRORS[422]
        if doc.rate_limited:
            statuses[429] = GENERIC_ERRORS[429]
        statuses.update(doc.errors)
        responses = operation.setdefault("responses", {})
        for status, description in sorted(statuses.items()):
            headers = {**ERROR_HEADERS.get(status, {}), **doc.headers}
            responses[str(status)] = {
                "description": description,
                "content": {
                    JSON: {"schema": self.ma_plugin.converter.resolve_nested_schema(ErrorSchema)}
                },
                **({"headers": headers} if headers else {}),
            }
        for status, response in doc.responses.items():
            responses[str(status)] = self._resolve_schemas(deepcopy(response))
        if doc.headers:
            for status, response in responses.items():
                if int(status) < 400:
                    response["headers"] = {**doc.headers, **response.get("headers", {})}


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
