"""Account security, as an attacker with a copied cookie, a stolen token or a list of
addresses would try it: every sign-in can be ended on the server, passwords can be changed
and reset, and neither sign-up nor reset tells anyone who has an account."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from html import unescape
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from tests.conftest import (
    PASSWORD,
    csrf_token,
    error_next_to,
    post_form,
    post_login,
    sign_in_as,
)
from tests.test_email import smtp_sink  # noqa: F401 (a fixture)
from videocoach import db
from videocoach.accounts.models import ApiToken, PasswordReset, User, UserSession
from videocoach.accounts.services import set_disabled
from videocoach.db import utcnow

NEW_PASSWORD = "a brand new sentence for my account"
RESET_LINK = re.compile(r"https?://\S+/password/reset/(\S+)")
CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value|name="csrf-token" content)="[^"]+"')


def signed_in(app, email: str, *, remember: bool = False, agent: str = "pytest") -> FlaskClient:
    """A browser signed in through the sign-in form."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    form = {"email": email, "password": PASSWORD} | ({"remember": "y"} if remember else {})
    assert post_form(client, "/login", form).status_code == 302, "sign-in failed"
    return client


def cookie(client: FlaskClient, name: str) -> str:
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def replay(app, **cookies: str) -> FlaskClient:
    """A fresh browser holding only copies of these cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief


def opens_account(client: FlaskClient) -> bool:
    page = client.get("/account").status_code
    me = client.get("/api/v1/me", headers={"Accept": "application/json"}).status_code
    assert (page == 200) == (me == 200), (page, me)
    return page == 200


def token_for(app, email: str, password: str = PASSWORD) -> str:
    response = app.test_client().post(
        "/api/v1/auth/tokens", json={"email": email, "password": password, "label": "script"}
    )
    assert response.status_code == 201, response.json
    return response.json["token"]


def token_works(app, token: str) -> bool:
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code == 200


def without_csrf(html: str) -> str:
    return CSRF_VALUE.sub("", html)


# Signing out ends the sign-in on the server


def test_logout_ends_the_session_cookie_and_the_remember_cookie(app, make_user):
    make_user(email="ana@school.example")
    browser = signed_in(app, "ana@school.example", remember=True)
    session_value, remember_value = cookie(browser, "session"), cookie(browser, "remember_token")
    assert opens_account(replay(app, session=session_value))
    assert opens_account(replay(app, remember_token=remember_value))

    assert post_form(browser, "/logout").status_code == 302

    assert not opens_account(replay(app, session=session_value))
    assert not opens_account(replay(app, remember_token=remember_value))
    assert not opens_account(replay(app, session=session_value, remember_token=remember_value))
    assert not opens_account(browser)


def test_logout_leaves_the_persons_other_devices_signed_in(app, make_user):
    make_user(email="ana@school.example")
    laptop = signed_in(app, "ana@school.example")
    phone = signed_in(app, "ana@school.example")
    post_form(laptop, "/logout")
    assert not opens_account(laptop)
    assert opens_account(phone)


def test_sign_out_everywhere_ends_every_session_including_this_one(app, make_user):
    make_user(email="ana@school.example")
    laptop = signed_in(app, "ana@school.example")
    phone = signed_in(app, "ana@school.example", remember=True)
    phone_remember = cookie(phone, "remember_token")
    response = post_form(laptop, "/account/sessions/end-all")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not opens_account(laptop)
    assert not opens_account(phone)
    assert not opens_account(replay(app, remember_token=phone_remember))


def test_the_account_page_lists_sign_ins_and_ends_one_of_them(app, make_user):
    make_user(email="ana@school.example")
    laptop = signed_in(app, "ana@school.example", agent=FIREFOX_ON_WINDOWS)
    phone = signed_in(app, "ana@school.example", agent=SAFARI_ON_IPHONE)
    html = laptop.get("/account").get_data(as_text=True)
    assert "Firefox on Windows" in html and "iPhone" in html
    assert html.count("this device") == 1
    with app.app_context():
        phone_id = db.session.scalars(
            select(UserSession.id).where(UserSession.user_agent == SAFARI_ON_IPHONE)
        ).one()
    assert f'action="/account/sessions/{phone_id}/end"' in html
    response = post_form(laptop, f"/account/sessions/{phone_id}/end")
    assert response.status_code == 302
    assert not opens_account(phone)
    assert opens_account(laptop)
    assert "iPhone" not in laptop.get("/account").get_data(as_text=True)


def test_nobody_can_end_someone_elses_sign_in(app, make_user):
    make_user(email="ana@school.example")
    make_user(email="ben@school.example")
    ana = signed_in(app, "ana@school.example")
    ben = signed_in(app, "ben@school.example")
    with app.app_context():
        ben_session = db.session.scalars(
            select(UserSession.id).join(User).where(User.email == "ben@school.example")
        ).one()
    assert post_form(ana, f"/account/sessions/{ben_session}/end").status_code == 404
    assert opens_account(ben)


def test_disabling_an_account_ends_its_sessions_for_good(app, make_user):
    user = make_user(email="ana@school.example")
    browser = signed_in(app, "ana@school.example", remember=True)
    copies = {
        "session": cookie(browser, "session"),
        "remember_token": cookie(browser, "remember_token"),
    }
    token = token_for(app, "ana@school.example")
    with app.app_context():
        stored = db.session.get(User, user.id)
        set_disabled(stored, True)
        db.session.commit()
    assert not opens_account(replay(app, **copies))
    with app.app_context():
        stored = db.session.get(User, user.id)
        set_disabled(stored, False)  # the account is back...
        db.session.commit()
    assert not opens_account(replay(app, **copies))  # ...its old sign-ins are not
    assert not opens_account(browser)
    assert not token_works(app, token)
    assert opens_account(signed_in(app, "ana@school.example"))  # signing in again works


def test_an_idle_sign_in_expires_on_the_server(app, make_user):
    make_user(email="ana@school.example")
    browser = signed_in(app, "ana@school.example")
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=13)))
        db.session.commit()
    assert not opens_account(browser)


def test_a_cookie_planted_before_sign_in_does_not_become_the_session(app, make_user):
    """Session fixation: an attacker hands the victim a cookie, the victim signs in with
    it; the attacker's copy must not be signed in afterwards."""
    make_user(email="ana@school.example")
    victim = app.test_client()
    victim.get("/login")  # the anonymous session (with its CSRF token) the attacker saw
    planted = cookie(victim, "session")
    assert post_login(victim, "ana@school.example").status_code == 302
    assert cookie(victim, "session") != planted
    assert opens_account(victim)
    assert not opens_account(replay(app, session=planted))


# Changing the password


def test_changing_the_password_needs_the_current_one(app, make_user):
    make_user(email="ana@school.example")
    browser = signed_in(app, "ana@school.example")
    response = post_form(
        browser,
        "/account/password",
        {"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "not your current password" in error_next_to(html, "current_password")
    weak = post_form(
        browser,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "short"},
    )
    assert weak.status_code == 422
    assert "at least 10 characters" in error_next_to(weak.get_data(as_text=True), "new_password")
    assert post_login(app.test_client(), "ana@school.example").status_code == 302  # unchanged


def test_changing_the_password_ends_other_sessions_and_tokens_and_emails_the_owner(
    make_app,
    make_user,
    app,
    smtp_sink,  # noqa: F811
):
    sink, url = smtp_sink
    make_user(email="ana@school.example", name="Ana Lima")
    app = make_app(SMTP_URL=url, VIDEOCOACH_TASKS_EAGER="1")
    here = signed_in(app, "ana@school.example")
    copied_from_here = cookie(here, "session")
    stolen = signed_in(app, "ana@school.example", remember=True)
    stolen_remember = cookie(stolen, "remember_token")
    token = token_for(app, "ana@school.example")
    response = post_form(
        here,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Password changed" in response.get_data(as_text=True)
    assert opens_account(here)  # the person changing it stays signed in here...
    assert not opens_account(replay(app, session=copied_from_here))  # ...on a new sign-in
    assert not opens_account(stolen)
    assert not opens_account(replay(app, remember_token=stolen_remember))
    assert not token_works(app, token)
    assert post_login(app.test_client(), "ana@school.example").status_code == 401
    assert post_login(app.test_client(), "ana@school.example", NEW_PASSWORD).status_code == 302
    [message] = [m for m in sink.messages if "password was changed" in m["Subject"]]
    assert message["To"] == "ana@school.example"
    assert "/password/forgot" in message.get_payload(decode=True).decode()


# Resetting a forgotten password


def reset_request(app, email: str):
    return post_form(app.test_client(), "/password/forgot", {"email": email})


def reset_links(sink) -> list[str]:
    links = []
    for message in sink.messages:
        if message["Subject"] == "Reset your videocoach password":
            links += RESET_LINK.findall(message.get_payload(decode=True).decode())
    return links


@pytest.fixture
def mailing_app(make_app, app, smtp_sink):  # noqa: F811
    sink, url = smtp_sink
    return make_app(SMTP_URL=url, VIDEOCOACH_TASKS_EAGER="1"), sink


def test_reset_answers_the_same_for_known_and_unknown_addresses(mailing_app, make_user):
    app, sink = mailing_app
    make_user(email="ana@school.example")
    known = reset_request(app, "ana@school.example")
    unknown = reset_request(app, "nobody@school.example")
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known.get_data(as_text=True)) == without_csrf(
        unknown.get_data(as_text=True)
    )
    assert "If an account uses that address" in unescape(known.get_data(as_text=True))
    assert [m["To"] for m in sink.messages] == ["ana@school.example"]


def test_a_reset_link_works_once_and_ends_every_session_and_token(mailing_app, make_user):
    app, sink = mailing_app
    make_user(email="ana@school.example")
    stolen = signed_in(app, "ana@school.example", remember=True)
    token = token_for(app, "ana@school.example")
    reset_request(app, "ana@school.example")
    [raw] = reset_links(sink)
    browser = app.test_client()
    page = browser.get(f"/password/reset/{raw}")
    assert page.status_code == 200 and 'name="new_password"' in page.get_data(as_text=True)
    response = post_form(browser, f"/password/reset/{raw}", {"new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?email=ana@school.example"
    assert post_login(app.test_client(), "ana@school.example", NEW_PASSWORD).status_code == 302
    assert post_login(app.test_client(), "ana@school.example").status_code == 401
    assert not opens_account(stolen)
    assert not token_works(app, token)
    again = post_form(
        app.test_client(), f"/password/reset/{raw}", {"new_password": "yet another sentence here"}
    )
    assert again.status_code == 404
    assert "expired or was already used" in unescape(again.get_data(as_text=True))
    assert post_login(app.test_client(), "ana@school.example", NEW_PASSWORD).status_code == 302
    assert any("password was changed" in m["Subject"] for m in sink.messages)


def test_a_reset_link_expires_after_an_hour(mailing_app, make_user):
    app, sink = mailing_app
    make_user(email="ana@school.example")
    reset_request(app, "ana@school.example")
    [raw] = reset_links(sink)
    with app.app_context():
        reset = db.session.scalars(select(PasswordReset)).one()
        assert timedelta(minutes=59) < reset.expires_at - reset.created_at <= timedelta(hours=1)
        reset.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = app.test_client().get(f"/password/reset/{raw}")
    assert page.status_code == 404
    assert "Ask for a new one" in page.get_data(as_text=True)
    assert app.test_client().get("/password/reset/made-up-token").status_code == 404


def test_a_new_reset_link_spends_the_older_ones_when_used(mailing_app, make_user):
    app, sink = mailing_app
    make_user(email="ana@school.example")
    reset_request(app, "ana@school.example")
    reset_request(app, "ana@school.example")
    first, second = reset_links(sink)
    post_form(app.test_client(), f"/password/reset/{second}", {"new_password": NEW_PASSWORD})
    assert app.test_client().get(f"/password/reset/{first}").status_code == 404


def test_reset_emails_to_one_address_are_capped(mailing_app, make_user):
    app, sink = mailing_app
    make_user(email="ana@school.example")
    for _ in range(5):
        assert reset_request(app, "ana@school.example").status_code == 200
    assert len(reset_links(sink)) == 3


def test_a_disabled_account_gets_no_reset_link(mailing_app, make_user):
    app, sink = mailing_app
    user = make_user(email="ana@school.example")
    with app.app_context():
        set_disabled(db.session.get(User, user.id), True)
        db.session.commit()
    assert reset_request(app, "ana@school.example").status_code == 200
    assert reset_links(sink) == []


# Sign-up never tells who has an account


def test_signup_answers_the_same_for_a_new_and_a_taken_address(mailing_app, make_user):
    app, sink = mailing_app
    make_user(email="ana@school.example", name="Ana Lima")
    answers = []
    for email in ["ana@school.example", "ben@school.example"]:
        browser = app.test_client()
        response = post_form(
            browser, "/signup", {"name": "Someone", "email": email, "password": PASSWORD}
        )
        with browser.session_transaction() as session:
            flashes = session.get("_flashes", [])
            keys = sorted(session.keys())
        answers.append((response.status_code, response.headers["Location"], flashes, keys))
    taken, new = answers
    assert taken[0] == new[0] == 302
    assert taken[1].replace("ana@", "ben@") == new[1] == "/login?email=ben@school.example"
    assert [(kind, text.replace("ana@", "ben@")) for kind, text in taken[2]] == new[2]
    assert new[2] and "Your account is ready" in new[2][0][1]
    assert taken[3] == new[3] and "_user_id" not in new[3]  # nobody signed in, either way
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 2
    subjects = {m["To"]: m["Subject"] for m in sink.messages}
    assert "tried to create" in subjects["ana@school.example"]
    assert subjects["ben@school.example"] == "Welcome to videocoach"


def test_register_api_answers_the_same_for_a_new_and_a_taken_address(mailing_app, make_user):
    app, sink = mailing_app
    make_user(email="ana@school.example")
    client = app.test_client()
    bodies = []
    for email in ["ana@school.example", "ben@school.example"]:
        response = client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "name": "Someone"},
        )
        assert response.status_code == 201
        assert "Set-Cookie" not in response.headers
        bodies.append(response.json)
    taken, new = bodies
    assert set(taken["user"]) == set(new["user"]) == {"id", "email", "name"}
    assert len(taken["user"]["id"]) == len(new["user"]["id"])
    assert taken["user"]["name"] == new["user"]["name"] == "Someone"
    assert "tried to create" in next(
        m["Subject"] for m in sink.messages if m["To"] == "ana@school.example"
    )


# API tokens on the account page


def test_the_account_page_lists_tokens_with_their_last_use_and_revokes_them(app, make_user):
    make_user(email="ana@school.example")
    used = token_for(app, "ana@school.example")
    token_for(app, "ana@school.example")
    assert token_works(app, used)
    browser = signed_in(app, "ana@school.example")
    html = browser.get("/account").get_data(as_text=True)
    assert html.count("last used") == 1 and html.count("never used") == 1
    with app.app_context():
        used_id = db.session.scalars(
            select(ApiToken.id).where(ApiToken.last_used_at.is_not(None))
        ).one()
    assert post_form(browser, f"/account/tokens/{used_id}/revoke").status_code == 302
    assert not token_works(app, used)
    assert "last used" not in browser.get("/account").get_data(as_text=True)


# Rate limits


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/password/forgot", {"email": "ana@school.example"}),
        ("/signup", {"name": "Ana", "email": "ana@school.example", "password": PASSWORD}),
    ],
)
def test_reset_and_signup_are_rate_limited(app, make_app, path, form):
    client = make_app(VIDEOCOACH_LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = [post_form(client, path, form).status_code for _ in range(4)]
    assert statuses[-1] == 429 and 429 not in statuses[:3]


def test_token_creation_is_rate_limited_on_the_page_and_the_api(app, make_app, make_user):
    make_user(email="ana@school.example")
    limited = make_app(VIDEOCOACH_LOGIN_RATE_LIMIT="3 per minute")
    credentials = {"email": "ana@school.example", "password": PASSWORD}
    api = limited.test_client()
    statuses = [api.post("/api/v1/auth/tokens", json=credentials).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    browser = limited.test_client()
    with limited.app_context():
        user_id = db.session.scalars(select(User.id)).one()
    sign_in_as(browser, user_id)
    statuses = [
        post_form(browser, "/account", {"label": "x", "password": PASSWORD}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def test_a_reset_link_used_twice_at_once_works_once(mailing_app, make_user, database_url):
    app, sink = mailing_app
    make_user(email="ana@school.example")
    reset_request(app, "ana@school.example")
    [raw] = reset_links(sink)
    browsers = [app.test_client(), app.test_client()]
    tokens = [csrf_token(browser, f"/password/reset/{raw}") for browser in browsers]
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def submit(browser, token, password):
        barrier.wait()
        response = browser.post(
            f"/password/reset/{raw}", data={"new_password": password, "csrf_token": token}
        )
        answers.append(response.status_code)

    threads = [
        threading.Thread(target=submit, args=(browser, token, password))
        for browser, token, password in zip(
            browsers,
            tokens,
            ["first racing sentence here", "second racing sentence here"],
            strict=True,
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [302, 404]
    changed = [m for m in sink.messages if "password was changed" in m["Subject"]]
    assert len(changed) == 1


def test_a_password_change_spends_open_reset_links(mailing_app, make_user):
    app, sink = mailing_app
    make_user(email="ana@school.example")
    reset_request(app, "ana@school.example")
    [raw] = reset_links(sink)
    browser = signed_in(app, "ana@school.example")
    post_form(
        browser,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert app.test_client().get(f"/password/reset/{raw}").status_code == 404


def test_making_a_token_on_the_page_needs_the_password(app, make_user):
    """A copied cookie must not be turned into a token that outlives 'sign out everywhere'."""
    make_user(email="ana@school.example")
    thief = signed_in(app, "ana@school.example")
    response = post_form(thief, "/account", {"label": "mine now", "password": "a guess"})
    assert response.status_code == 422
    assert "not your current password" in error_next_to(response.get_data(as_text=True), "password")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_a_sign_in_ends_after_ninety_days_however_often_it_is_used(app, make_user):
    make_user(email="ana@school.example")
    browser = signed_in(app, "ana@school.example", remember=True)
    with app.app_context():
        db.session.execute(update(UserSession).values(created_at=utcnow() - timedelta(days=91)))
        db.session.commit()
    assert not opens_account(browser)


def test_a_dead_remember_cookie_is_cleared(app, make_user):
    make_user(email="ana@school.example")
    browser = signed_in(app, "ana@school.example", remember=True)
    remember_value = cookie(browser, "remember_token")
    post_form(browser, "/logout")
    thief = replay(app, remember_token=remember_value)
    thief.get("/account")
    assert thief.get_cookie("remember_token") is None


def test_signing_up_from_an_invitation_to_that_address_signs_in(app, make_user):
    """The invitation was emailed to this address: following it proves the inbox, so the
    new coach goes straight on to accept. Any other sign-up still signs nobody in."""
    teacher = make_user(email="tess@school.example")
    with app.app_context():
        from videocoach.partnerships import services as partnerships

        owner = db.session.get(User, teacher.id)
        partnership = partnerships.create_partnership(owner, "Tess + Ben", "teacher")
        _, raw = partnerships.invite(
            owner, partnership.id, "ben@school.example", "coach", lambda token: token
        )
        db.session.commit()
    link = f"/invitations/accept?token={raw}"
    form = {"name": "Ben", "email": "ben@school.example", "password": PASSWORD}
    elsewhere = post_form(
        app.test_client(), "/signup?next=/account", form | {"email": "cy@school.example"}
    )
    assert elsewhere.headers["Location"].startswith("/login")
    someone_else = app.test_client()
    wrong_address = post_form(
        someone_else, f"/signup?next={quote(link)}", form | {"email": "dee@school.example"}
    )
    assert wrong_address.headers["Location"].startswith("/login")
    invited = app.test_client()
    response = post_form(invited, f"/signup?next={quote(link)}", form)
    assert response.status_code == 302 and response.headers["Location"] == link
    assert opens_account(invited)
