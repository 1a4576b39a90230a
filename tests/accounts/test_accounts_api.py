from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import func, select

from tests.conftest import PASSWORD, same_answer
from videocoach import db
from videocoach.accounts.models import ApiToken, User
from videocoach.accounts.services import set_disabled


def register(api, email="ana@school.example", password=PASSWORD, name="Ana Lima"):
    return api.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "name": name}
    )


def test_register_returns_the_user_and_stores_an_argon2_hash(app, api_for):
    api = api_for(None)
    response = register(api)
    assert response.status_code == 201
    user = response.json["user"]
    assert user["email"] == "ana@school.example" and user["name"] == "Ana Lima"
    assert isinstance(user["id"], str)
    with app.app_context():
        stored = db.session.get(User, user["id"])
    assert stored.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(stored.password_hash, PASSWORD)
    assert "Set-Cookie" not in response.headers


def test_email_is_unique_whatever_its_case(app, api_for):
    api = api_for(None)
    first = register(api, email="Ana@School.example")
    assert first.status_code == 201
    again = register(api, email="ANA@school.EXAMPLE", password="another fine password")
    assert again.status_code == 201  # the same answer: register never tells who has an account
    assert again.json["user"]["id"] != first.json["user"]["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
    refused = api.post(
        "/api/v1/auth/tokens",
        json={"email": "ana@school.example", "password": "another fine password"},
    )
    assert refused.status_code == 401  # the stand-in is no account


def test_weak_passwords_are_refused_with_a_reason(api_for):
    api = api_for(None)
    for weak in ["short", "123456789", "1234567890", "aaaaaaaaaaaa", "qwertyuiop"]:
        response = register(api, password=weak)
        assert response.status_code == 422, weak
        assert response.json["error"]["fields"]["password"]
    assert register(api, password="ana@school.example").status_code == 422


def test_register_validates_fields(api_for):
    api = api_for(None)
    response = api.post("/api/v1/auth/register", json={"email": "not-an-email"})
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert {"password", "name"} <= set(fields)
    response = register(api, email="not-an-email")
    assert response.status_code == 422
    assert "email" in response.json["error"]["fields"]


def test_malformed_json_is_a_400_in_the_error_format(client):
    response = client.post(
        "/api/v1/auth/register", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json["error"]) >= {"code", "message"}


def test_signup_closed_answers_403(make_app):
    app = make_app(VIDEOCOACH_SIGNUP="closed")
    response = app.test_client().post(
        "/api/v1/auth/register",
        json={"email": "ana@school.example", "password": PASSWORD, "name": "Ana"},
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "signup_closed"


def test_signup_limited_to_email_domains(make_app):
    client = make_app(VIDEOCOACH_SIGNUP_DOMAINS="school.example,district.example").test_client()
    body = {"password": PASSWORD, "name": "Ana"}
    outside = client.post("/api/v1/auth/register", json={**body, "email": "ana@gmail.example"})
    assert outside.status_code == 422
    assert "@school.example" in outside.json["error"]["fields"]["email"]
    inside = client.post("/api/v1/auth/register", json={**body, "email": "ana@District.example"})
    assert inside.status_code == 201


def test_token_lifecycle(app, api_for, make_user):
    user = make_user(email="ben@school.example")
    anonymous = api_for(None)
    response = anonymous.post(
        "/api/v1/auth/tokens", json={"email": "BEN@school.example", "password": PASSWORD}
    )
    assert response.status_code == 201
    token = response.json["token"]
    assert response.json["user"]["id"] == user.id
    with app.app_context():
        stored = db.session.query(ApiToken).one()
    assert token not in stored.token_hash  # only a digest is kept

    api = anonymous.__class__(anonymous.client, token)
    me = api.get("/api/v1/me")
    assert me.status_code == 200 and me.json["user"]["email"] == "ben@school.example"
    assert api.delete("/api/v1/auth/tokens/current").status_code == 204
    again = api.get("/api/v1/me")
    assert again.status_code == 401
    assert again.json["error"]["code"] == "invalid_token"


def test_wrong_password_and_unknown_email_get_the_same_401(api_for, make_user):
    make_user(email="ben@school.example")
    api = api_for(None)
    wrong = api.post(
        "/api/v1/auth/tokens", json={"email": "ben@school.example", "password": "x" * 12}
    )
    unknown = api.post(
        "/api/v1/auth/tokens", json={"email": "who@school.example", "password": "x" * 12}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert same_answer(wrong.json) == same_answer(unknown.json)


def test_disabled_account_loses_its_tokens(app, api_for, make_user):
    user = make_user()
    api = api_for(user)
    assert api.get("/api/v1/me").status_code == 200
    with app.app_context():
        set_disabled(db.session.get(User, user.id), True)
        db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


def test_no_credentials_is_401_and_garbage_token_is_401(api_for):
    anonymous = api_for(None)
    assert anonymous.get("/api/v1/me").status_code == 401
    forged = anonymous.__class__(anonymous.client, "vc_forged")
    response = forged.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_token_endpoint_is_rate_limited(make_app, make_user):
    make_user(email="ben@school.example")
    client = make_app(VIDEOCOACH_LOGIN_RATE_LIMIT="3 per minute").test_client()
    body = {"email": "ben@school.example", "password": "wrong password!"}
    statuses = [client.post("/api/v1/auth/tokens", json=body).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = client.post("/api/v1/auth/tokens", json=body)
    assert response.json["error"]["code"] == "rate_limited"
