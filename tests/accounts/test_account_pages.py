"""The account pages as a browser uses them: sign-up, sign-in, sign-out, tokens, cookies."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD, csrf_token, error_next_to, post_form, post_login
from videocoach import db
from videocoach.accounts.models import ApiToken, PasswordReset, User
from videocoach.db import utcnow
from videocoach.extensions import limiter
from videocoach.tokens import token_digest

NEW_TOKEN_INPUT = re.compile(r'<input id="new-token"[^>]*value="([^"]+)"')
REVOKE_ACTION = re.compile(r'action="(/account/tokens/[^"/]+/revoke)"')


def signup_form(name="Ana Lima", email="ana@school.example", password=PASSWORD):
    return {"name": name, "email": email, "password": password}


def session_cookie(response, name="session"):
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie was set")


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


# Sign-up


def test_signup_creates_the_account_and_sends_the_person_to_sign_in(app, client):
    response = post_form(client, "/signup", signup_form())
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?email=ana@school.example"
    with app.app_context():
        user = db.session.scalars(select(User)).one()
    assert user.email == "ana@school.example" and user.name == "Ana Lima"
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your account is ready, Ana Lima" in unescape(login_page)
    assert 'value="ana@school.example"' in login_page  # the address is filled in
    assert post_login(client, "ana@school.example").status_code == 302
    account = client.get("/account")
    assert account.status_code == 200
    assert "ana@school.example" in account.get_data(as_text=True)


def test_signup_honours_a_same_site_next_only(client, app):
    to_account = post_form(client, "/signup?next=/account", signup_form())
    assert to_account.headers["Location"] == "/login?email=ana@school.example&next=/account"
    other = app.test_client()
    off_site = post_form(
        other, "/signup?next=//evil.example/", signup_form(email="ben@school.example")
    )
    assert off_site.status_code == 302
    assert off_site.headers["Location"] == "/login?email=ben@school.example"


def test_signup_shows_a_weak_password_error_next_to_the_password(app, client):
    response = post_form(client, "/signup", signup_form(password="1234567890"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "too easy to guess" in error_next_to(html, "password")
    assert error_next_to(html, "email") == ""
    assert 'aria-invalid="true"' in html
    short = post_form(client, "/signup", signup_form(password="short"))
    assert "at least 10 characters" in error_next_to(short.get_data(as_text=True), "password")
    assert count_users(app) == 0


def test_signup_with_a_taken_email_answers_as_for_a_new_one_and_signs_nobody_in(
    app, client, make_user
):
    make_user(email="ana@school.example")
    response = post_form(client, "/signup", signup_form(email="ANA@School.example"))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?email=ana@school.example"
    assert count_users(app) == 1
    assert client.get("/account").status_code == 302  # not signed in as the owner


def test_signup_shows_an_invalid_email_and_a_missing_name_next_to_their_fields(client):
    response = post_form(client, "/signup", signup_form(name="", email="not-an-email"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_next_to(html, "name") == "Tell us your name."
    response = post_form(client, "/signup", signup_form(email="not-an-email"))
    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), "email")


def test_signup_closed_shows_a_message_and_creates_no_account(app, make_app):
    client = make_app(VIDEOCOACH_SIGNUP="closed").test_client()
    page = client.get("/signup")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Sign-up is closed on this server" in html
    assert 'name="password"' not in html
    assert "Create an account" not in client.get("/login").get_data(as_text=True)

    refused = post_form(client, "/signup", signup_form())
    assert refused.status_code == 403
    assert "Sign-up is closed on this server" in refused.get_data(as_text=True)
    assert count_users(app) == 0
    assert client.get("/account").status_code == 302


def test_signed_in_user_visiting_signup_is_sent_home(browser_for, make_user):
    browser = browser_for(make_user())
    response = browser.get("/signup")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# Sign-in


def test_login_signs_in_and_redirects_home(client, make_user):
    make_user(email="ben@school.example", name="Ben Okafor")
    response = post_login(client, "Ben@School.example")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200
    assert "Ben Okafor" in home.get_data(as_text=True)


def test_wrong_password_shows_an_error_next_to_the_password_with_401(client, make_user):
    make_user(email="ben@school.example")
    response = post_login(client, "ben@school.example", password="not the password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "do not match an active account" in error_next_to(html, "password")
    assert "not the password" not in html  # a password is never echoed back
    assert client.get("/account").status_code == 302
    unknown = post_login(client, "who@school.example", password="not the password")
    assert unknown.status_code == 401


def test_login_required_page_sends_you_back_after_signing_in(client, make_user):
    make_user(email="ben@school.example")
    bounced = client.get("/account")
    assert bounced.status_code == 302
    login_url = bounced.headers["Location"]
    assert login_url.startswith("/login?next=")
    response = post_form(client, login_url, {"email": "ben@school.example", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "http://evil.example/account",
        "/\\evil.example/",
        "javascript:alert(1)",
    ],
)
def test_login_ignores_an_off_site_next(app, make_user, target):
    make_user(email="ben@school.example")
    client = app.test_client()
    response = post_login(client, "ben@school.example", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # Already signed in, /login passes straight through `next`: still never off-site.
    again = client.get("/login", query_string={"next": target})
    assert again.headers["Location"] == "/"


def test_login_is_rate_limited_with_429(app, make_app, make_user):
    make_user(email="ben@school.example")
    client = make_app(VIDEOCOACH_LOGIN_RATE_LIMIT="3 per minute").test_client()
    wrong = {"email": "ben@school.example", "password": "not the password"}
    statuses = [post_form(client, "/login", wrong).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    right = post_login(client, "ben@school.example")
    assert right.status_code == 429
    assert "Too many attempts" in right.get_data(as_text=True)
    assert client.get("/account").status_code == 302


# CSRF and sign-out


def test_page_form_without_csrf_token_is_refused_with_400(make_user, browser_for, client):
    make_user(email="ben@school.example")
    login = client.post("/login", data={"email": "ben@school.example", "password": PASSWORD})
    assert login.status_code == 400
    assert "Reload the page and try again" in login.get_data(as_text=True)
    assert client.get("/account").status_code == 302

    browser = browser_for(make_user())
    created = browser.post("/partnerships", data={"name": "Forged", "role": "teacher"})
    assert created.status_code == 400
    forged = browser.post(
        "/partnerships",
        data={"name": "Forged", "role": "teacher", "csrf_token": "not-the-token"},
    )
    assert forged.status_code == 400
    assert "Forged" not in browser.get("/partnerships").get_data(as_text=True)


def test_csrf_token_of_another_session_is_refused(browser_for, make_user):
    victim = browser_for(make_user())
    attacker = browser_for(make_user())
    stolen = csrf_token(attacker)
    response = victim.post(
        "/partnerships", data={"name": "Forged", "role": "teacher", "csrf_token": stolen}
    )
    assert response.status_code == 400


def test_logout_is_post_only_and_needs_csrf(browser_for, make_user):
    browser = browser_for(make_user())
    assert browser.get("/logout").status_code == 405
    assert browser.post("/logout").status_code == 400
    assert browser.get("/account").status_code == 200  # still signed in

    response = post_form(browser, "/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You are signed out" in browser.get("/login").get_data(as_text=True)
    assert browser.get("/account").status_code == 302


# Cookies


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    make_user(email="ben@school.example")
    response = post_form(
        client,
        "/login",
        {"email": "ben@school.example", "password": PASSWORD, "remember": "y"},
    )
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        cookie = session_cookie(response, name)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # plain http is fine on the embedded default


def test_production_cookies_are_secure(database_url, make_app, make_user, migrated_app):
    if not database_url.startswith("postgresql"):
        pytest.skip("production mode requires PostgreSQL")
    make_user(email="ben@school.example")
    production = make_app(
        VIDEOCOACH_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        DATABASE_URL=database_url,
        REDIS_URL="redis://127.0.0.1:6379/15",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
    )
    try:
        client = production.test_client()
        https = {"base_url": "https://videocoach.example"}
        login_page = client.get("/login", **https)
        assert login_page.status_code == 200
        token = re.search(
            r'name="csrf_token"[^>]*value="([^"]+)"', login_page.get_data(as_text=True)
        ).group(1)
        response = client.post(
            "/login",
            data={
                "email": "ben@school.example",
                "password": PASSWORD,
                "remember": "y",
                "csrf_token": token,
            },
            headers={"Referer": "https://videocoach.example/login"},
            **https,
        )
        assert response.status_code == 302
        for name in ("session", "remember_token"):
            cookie = session_cookie(response, name)
            assert "Secure" in cookie
            assert "HttpOnly" in cookie
            assert "SameSite=Lax" in cookie
    finally:
        production.extensions["videocoach.engine"].dispose()
        limiter.reset()
        limiter.init_app(migrated_app)  # the limiter is global: give it back its memory storage


# My account: API tokens


def test_account_page_creates_a_token_shown_once_that_works_until_revoked(
    app, browser_for, make_user
):
    user = make_user(email="ben@school.example")
    browser = browser_for(user)
    created = post_form(browser, "/account", {"label": "Gradebook sync", "password": PASSWORD})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    raw = unescape(NEW_TOKEN_INPUT.search(html).group(1))
    assert raw.startswith("vc_")
    assert "Gradebook sync" in html

    api = app.test_client()
    bearer = {"Authorization": f"Bearer {raw}"}
    me = api.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200 and me.json["user"]["id"] == user.id

    later = browser.get("/account").get_data(as_text=True)
    assert raw not in later  # shown only once
    assert "Gradebook sync" in later

    revoke_path = REVOKE_ACTION.search(later).group(1)
    revoked = post_form(browser, revoke_path)
    assert revoked.status_code == 302
    after = browser.get("/account").get_data(as_text=True)
    assert "Token revoked" in after
    assert "Gradebook sync" not in after
    assert api.get("/api/v1/me", headers=bearer).status_code == 401


def test_token_form_needs_a_label(browser_for, make_user):
    browser = browser_for(make_user())
    response = post_form(browser, "/account", {"label": "", "password": PASSWORD})
    html = response.get_data(as_text=True)
    assert error_next_to(html, "label") == "Name the token."
    assert NEW_TOKEN_INPUT.search(html) is None


def test_another_user_cannot_revoke_my_token(browser_for, make_user):
    owner = browser_for(make_user())
    post_form(owner, "/account", {"label": "Mine", "password": PASSWORD})
    revoke_path = REVOKE_ACTION.search(owner.get("/account").get_data(as_text=True)).group(1)
    other = browser_for(make_user())
    assert post_form(other, revoke_path).status_code == 404
    assert "Mine" in owner.get("/account").get_data(as_text=True)


# My account: the page itself


class _LabelsAndIds(HTMLParser):
    """Every element id on a page, and what each <label for=...> points at."""

    FORM_CONTROLS = {"input", "select", "textarea"}

    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.controls: set[str] = set()
        self.label_targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if named.get("id"):
            self.ids[named["id"]] += 1
            if tag in self.FORM_CONTROLS:
                self.controls.add(named["id"])
        if tag == "label" and named.get("for"):
            self.label_targets.append(named["for"])


def test_every_label_on_the_account_page_names_exactly_one_form_control(browser_for, make_user):
    browser = browser_for(make_user())
    post_form(browser, "/account", {"label": "Gradebook sync", "password": PASSWORD})
    for html in (
        browser.get("/account").get_data(as_text=True),
        post_form(browser, "/account", {"label": "x", "password": ""}).get_data(as_text=True),
    ):
        page = _LabelsAndIds()
        page.feed(html)
        assert page.label_targets  # the page has labelled fields at all
        # A second element with a label's id (the section id="password" once) takes the
        # label from its field: screen readers announce the field unnamed, a click on the
        # label does not reach it.
        for target in page.label_targets:
            assert page.ids[target] == 1 and target in page.controls, target


def test_a_token_shows_the_minute_its_use_was_last_noted(app, browser_for, make_user):
    user = make_user()
    browser = browser_for(user)
    post_form(browser, "/account", {"label": "Gradebook sync", "password": PASSWORD})
    with app.app_context():
        token = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        token.last_used_at = datetime(2026, 12, 3, 6, 31, tzinfo=UTC)
        db.session.commit()
    html = browser.get("/account").get_data(as_text=True)
    # Use is noted at most hourly; "06:00" would name a time before the token was ever used.
    assert "last used 2026-12-03 06:31 UTC or up to an hour later" in html


def reset_link(app, user: User, *, used: bool) -> str:
    raw = secrets.token_urlsafe(32)
    with app.app_context():
        db.session.add(
            PasswordReset(
                user_id=user.id,
                token_hash=token_digest(raw),
                expires_at=utcnow() + timedelta(hours=1),
                used_at=utcnow() if used else None,
            )
        )
        db.session.commit()
    return f"/password/reset/{raw}"


def test_a_used_reset_link_says_in_its_heading_that_it_no_longer_works(app, client, make_user):
    link = reset_link(app, make_user(), used=True)
    response = client.get(link)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert re.search(r"<h1>\s*This link no longer works\s*</h1>", html)
    assert "Choose a new password" not in html  # not the heading of a form that is not there
    assert 'name="new_password"' not in html
    assert 'href="/password/forgot"' in html and 'href="/login"' in html


def test_after_a_reset_the_sign_in_form_has_the_address_filled_in(app, client, make_user):
    user = make_user(email="ana@school.example")
    link = reset_link(app, user, used=False)
    response = post_form(client, link, {"new_password": "a brand new lesson plan"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?email=ana@school.example"
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="ana@school.example"' in login_page
    assert "Your password is changed" in login_page


def test_the_account_forms_bring_the_browser_back_to_themselves(browser_for, make_user):
    browser = browser_for(make_user())
    html = browser.get("/account").get_data(as_text=True)
    # After a wrong password the page is rendered again; without the fragment the browser
    # shows its top, and on a phone the error (or the new token) is screens further down.
    assert 'action="/account/password#change-password"' in html
    assert 'id="change-password"' in html
    assert 'action="/account#api-tokens"' in html
    assert 'id="api-tokens"' in html
    changed = post_form(
        browser,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a brand new lesson plan"},
    )
    assert changed.status_code == 302
    assert changed.headers["Location"] == "/account#main"  # up to the message, not the form


# Disabled accounts


def test_disabled_user_loses_their_session_and_cannot_sign_in(app, browser_for, make_user):
    admin = browser_for(make_user(admin=True))
    user = make_user(email="ben@school.example")
    browser = browser_for(user)
    assert browser.get("/account").status_code == 200

    disabled = post_form(admin, f"/admin/users/{user.id}/disable")
    assert disabled.status_code == 302
    assert "is now disabled" in admin.get("/admin/users").get_data(as_text=True)

    response = browser.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert browser.get("/partnerships").status_code == 302
    relogin = post_login(app.test_client(), "ben@school.example")
    assert relogin.status_code == 401

    assert post_form(admin, f"/admin/users/{user.id}/enable").status_code == 302
    assert browser.get("/account").status_code == 302  # enabling revives no old sign-in
    assert post_login(app.test_client(), "ben@school.example").status_code == 302


def test_admin_cannot_disable_their_own_account(browser_for, make_user):
    admin_user = make_user(admin=True)
    admin = browser_for(admin_user)
    assert post_form(admin, f"/admin/users/{admin_user.id}/disable").status_code == 403
    assert admin.get("/admin/users").status_code == 200


def test_non_admin_cannot_disable_anyone(app, browser_for, make_user):
    target = make_user()
    browser = browser_for(make_user())
    assert post_form(browser, f"/admin/users/{target.id}/disable").status_code == 404
    with app.app_context():
        assert db.session.get(User, target.id).disabled_at is None
