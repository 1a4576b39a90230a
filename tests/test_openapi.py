from __future__ import annotations

import re


def test_openapi_document_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in {"get", "post", "patch", "put", "delete"}
    }
    routed = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("openapi.json")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routed - documented == set()
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_health_endpoints_reveal_nothing(app, client):
    from tests.test_health import worker_beats

    worker_beats(app)
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok"}


def test_openapi_document_is_valid_openapi_3(client):
    import schemathesis

    document = client.get("/api/v1/openapi.json").json
    schemathesis.openapi.from_dict(document).validate()  # raises on an invalid document


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "head", "options", "post", "patch", "put", "delete"}:
                yield method, path, operation


def test_every_error_is_documented_as_the_error_envelope(client):
    spec = client.get("/api/v1/openapi.json").json
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert sorted(detail["required"]) == ["code", "message"]
    assert set(detail["properties"]) == {"code", "message", "fields", "request_id"}
    for method, path, operation in _operations(spec):
        responses = operation["responses"]
        assert "default" not in responses, (method, path)  # would make any status look documented
        assert "503" in responses, (method, path)  # the database or the queue may be away
        for status, response in responses.items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_operations_needing_credentials_document_401_and_public_ones_need_none(client):
    spec = client.get("/api/v1/openapi.json").json
    public = {
        (method, path)
        for method, path, operation in _operations(spec)
        if operation.get("security") == []
    }
    assert public == {
        ("post", "/api/v1/auth/register"),
        ("post", "/api/v1/auth/tokens"),
        ("options", "/api/v1/uploads"),
    }
    for method, path, operation in _operations(spec):
        if (method, path) not in public:
            assert "401" in operation["responses"], (method, path)


def test_register_documents_the_password_rules_the_service_applies(client):
    from videocoach import limits
    from videocoach.accounts.services import MIN_PASSWORD_LENGTH, password_problem

    spec = client.get("/api/v1/openapi.json").json
    password = spec["components"]["schemas"]["Register"]["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (
        MIN_PASSWORD_LENGTH,
        limits.PASSWORD_MAX,
    )
    assert password_problem("a" * (password["minLength"] - 1))
    assert password_problem("ab1 " * (password["maxLength"] // 4) + "x")
    assert password_problem("a quiet sentence, " * (password["maxLength"] // 18)) is None


def test_tus_requests_and_answers_carry_the_tus_version(client):
    spec = client.get("/api/v1/openapi.json").json
    uploads = spec["paths"]["/api/v1/uploads"]
    options = uploads["options"]["responses"]["204"]["headers"]
    assert {"Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Resumable"} <= set(options)
    for method, path, operation in _operations(spec):
        if not path.startswith("/api/v1/uploads"):
            continue
        for response in operation["responses"].values():
            assert response["headers"]["Tus-Resumable"]["required"], (method, path)
        sent = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert ("Tus-Resumable" in sent) == (method != "options"), (method, path)
    answered = client.open("/api/v1/uploads", method="OPTIONS")
    assert answered.status_code == 204
    assert answered.headers["Tus-Resumable"] == "1.0.0"


def test_media_and_streams_document_their_own_content_types(client):
    spec = client.get("/api/v1/openapi.json").json
    media = spec["paths"]["/api/v1/clips/{cid}/media/{name}"]["get"]["responses"]
    assert {"200", "206", "302", "304", "404", "416"} <= set(media)
    assert {"video/mp4", "text/vtt", "image/jpeg", "application/json"} <= set(
        media["200"]["content"]
    )
    events = spec["paths"]["/api/v1/meetings/{mid}/events"]["get"]["responses"]["200"]
    assert list(events["content"]) == ["text/event-stream"]
    deleted = spec["paths"]["/api/v1/clips/{cid}"]["delete"]["responses"]["204"]
    assert "content" not in deleted


def test_every_described_operation_exists(client):
    from videocoach.api import described_operations

    spec = client.get("/api/v1/openapi.json").json
    documented = {
        f"{method.upper()} {path.removeprefix('/api/v1')}" for method, path, _ in _operations(spec)
    }
    assert described_operations() - documented == set()
