"""Invitation links the partnership page shows again (to copy), resending with a new link,
withdrawing, the resend limit, and invitations made before links could be rebuilt."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest

from tests.conftest import post_form
from tests.partnerships.test_partnership_pages import (
    invite,
    page,
    shown_link,
    start_partnership,
)
from tests.partnerships.test_partnerships_api import accept, token_of
from videocoach import db
from videocoach.db import utcnow
from videocoach.partnerships import services
from videocoach.partnerships.models import Invitation, Membership
from videocoach.tokens import new_token, token_digest

RESEND_ACTION = re.compile(r'action="(/partnerships/[^"/]+/invitations/([^"/]+)/resend)"')


@pytest.fixture
def emails(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """What the invitation services queue for sending: (to, subject, body)."""
    sent: list[tuple[str, str, str]] = []
    monkeypatch.setattr(
        services.mail, "queue", lambda to, subject, body: sent.append((to, subject, body))
    )
    return sent


def only_invitation(app, pid: str) -> Invitation:
    with app.app_context():
        [invitation] = db.session.query(Invitation).filter_by(partnership_id=pid).all()
        db.session.expunge(invitation)
        return invitation


def test_the_page_shows_the_emailed_link_on_every_visit_and_it_accepts(
    app, make_user, browser_for, emails
):
    inviter = make_user(name="Tess Teacher")
    teacher = browser_for(inviter)
    pid = start_partnership(teacher)
    link = invite(teacher, pid, "ben@school.example")
    [(to, _subject, body)] = emails
    assert to == "ben@school.example"
    assert link in body.replace("http://localhost", "")
    iid = only_invitation(app, pid).id
    # Still there on later visits, the same link: it is rebuilt, not kept.
    page(teacher, "/partnerships")
    assert shown_link(teacher, pid, iid) == link
    html = page(teacher, f"/partnerships/{pid}")
    assert "ben@school.example" in html and "Copy link" in html and "copy-link.js" in html
    ben = browser_for(make_user(email="ben@school.example"))
    assert post_form(ben, link).status_code == 302
    assert "Tess Teacher" in page(ben, f"/partnerships/{pid}")


def test_the_link_is_keyed_on_the_secret_and_the_database_keeps_only_its_digest(
    app, make_user, browser_for
):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    token = token_of(invite(teacher, pid, "ben@school.example"))
    invitation = only_invitation(app, pid)
    assert invitation.link_nonce and token not in (invitation.token_hash, invitation.link_nonce)
    assert invitation.token_hash == token_digest(token)
    with app.app_context():
        assert services.invitation_token(invitation) == token
        # Another SECRET_KEY rebuilds another token, which matches nothing: no link is shown.
        settings = app.extensions["videocoach.settings"]
        other = dataclasses.replace(settings, secret_key="another-secret-key-" + "x" * 32)
        app.extensions["videocoach.settings"] = other
        try:
            assert services.invitation_token(invitation) is None
        finally:
            app.extensions["videocoach.settings"] = settings


def test_resend_emails_a_new_link_renews_the_expiry_and_retires_the_old_link(
    app, make_user, browser_for, emails
):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    old_link = invite(teacher, pid, "ben@school.example")
    with app.app_context():
        invitation = db.session.query(Invitation).filter_by(partnership_id=pid).one()
        invitation.expires_at = utcnow() + timedelta(hours=1)
        db.session.commit()
    action, iid = RESEND_ACTION.search(page(teacher, f"/partnerships/{pid}")).groups()
    resent = post_form(teacher, action)
    assert resent.status_code == 302
    assert resent.headers["Location"].endswith(f"/partnerships/{pid}#invitation-{iid}")
    html = page(teacher, f"/partnerships/{pid}")
    assert "Invitation emailed to ben@school.example again, with a new link" in html
    new_link = shown_link(teacher, pid, iid)
    assert new_link != old_link
    to, subject, body = emails[-1]
    assert to == "ben@school.example" and "a new link" in subject
    assert new_link in body.replace("http://localhost", "")
    after = only_invitation(app, pid)
    assert after.resent_at is not None
    assert after.expires_at > utcnow() + timedelta(days=6)
    anyone = app.test_client()
    assert anyone.get(old_link).status_code == 404
    assert anyone.get(new_link).status_code == 200


def test_withdrawing_removes_the_invitation_and_its_link(app, make_user, browser_for):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    link = invite(teacher, pid, "ben@school.example")
    iid = only_invitation(app, pid).id
    withdrawn = post_form(teacher, f"/partnerships/{pid}/invitations/{iid}/cancel")
    assert withdrawn.status_code == 302
    html = page(teacher, f"/partnerships/{pid}")
    assert "Invitation withdrawn" in html and f"invitation-{iid}" not in html
    assert app.test_client().get(link).status_code == 404


def test_an_invitation_from_before_keyed_links_still_accepts_and_resending_gives_a_link(
    app, make_user, browser_for, api_for
):
    """Links emailed before this change carry a random token whose digest is stored: they
    keep working until they expire. The page cannot show them; resending makes a new one."""
    teacher_user = make_user()
    teacher = browser_for(teacher_user)
    pid = start_partnership(teacher)
    old_token = new_token()
    with app.app_context():
        legacy = Invitation(
            partnership_id=pid,
            email="ben@school.example",
            role="coach",
            token_hash=token_digest(old_token),
            invited_by_id=teacher_user.id,
            expires_at=utcnow() + timedelta(days=3),
        )
        db.session.add(legacy)
        db.session.commit()
        iid = legacy.id
    html = page(teacher, f"/partnerships/{pid}")
    assert f'id="invitation-{iid}"' in html
    assert f'id="invite-link-{iid}"' not in html
    assert "Resend it to get a link to copy" in html
    listed = api_for(teacher_user).get(f"/api/v1/partnerships/{pid}/invitations").json["items"]
    assert [item["accept_url"] for item in listed] == [None]
    # The old link accepts as before.
    ben = make_user(email="ben@school.example")
    assert accept(api_for(ben), f"http://x/invitations/accept?token={old_token}").status_code == 200


def test_resending_a_legacy_invitation_retires_its_old_link(app, make_user, browser_for):
    teacher_user = make_user()
    teacher = browser_for(teacher_user)
    pid = start_partnership(teacher)
    old_token = new_token()
    with app.app_context():
        legacy = Invitation(
            partnership_id=pid,
            email="ben@school.example",
            role="coach",
            token_hash=token_digest(old_token),
            invited_by_id=teacher_user.id,
            expires_at=utcnow() + timedelta(days=3),
        )
        db.session.add(legacy)
        db.session.commit()
        iid = legacy.id
    assert post_form(teacher, f"/partnerships/{pid}/invitations/{iid}/resend").status_code == 302
    link = shown_link(teacher, pid, iid)
    anyone = app.test_client()
    assert anyone.get(f"/invitations/accept?token={old_token}").status_code == 404
    assert anyone.get(link).status_code == 200


def test_the_api_lists_links_and_resends(app, make_user, api_for):
    teacher = make_user()
    api = api_for(teacher)
    pid = api.post("/api/v1/partnerships", json={"name": "P", "role": "teacher"}).json[
        "partnership"
    ]["id"]
    made = api.post(
        f"/api/v1/partnerships/{pid}/invitations",
        json={"email": "ben@school.example", "role": "coach"},
    ).json
    [listed] = api.get(f"/api/v1/partnerships/{pid}/invitations").json["items"]
    assert listed["accept_url"] == made["accept_url"]
    assert listed["sent_at"] == listed["created_at"]
    resent = api.post(f"/api/v1/partnerships/{pid}/invitations/{made['id']}/resend")
    assert resent.status_code == 200
    body = resent.json
    assert body["id"] == made["id"] and body["accept_url"] != made["accept_url"]
    assert body["sent_at"] > body["created_at"]
    [listed] = api.get(f"/api/v1/partnerships/{pid}/invitations").json["items"]
    assert listed["accept_url"] == body["accept_url"]
    ben = make_user(email="ben@school.example")
    assert accept(api_for(ben), made["accept_url"]).status_code == 404
    assert accept(api_for(ben), body["accept_url"]).status_code == 200
    # Accepted: there is nothing to resend any more.
    again = api.post(f"/api/v1/partnerships/{pid}/invitations/{made['id']}/resend")
    assert again.status_code == 404


def test_resending_is_limited_to_ten_an_hour_per_account_across_page_and_api(
    app, make_user, browser_for, api_for
):
    teacher_user, coach_user = make_user(), make_user()
    api = api_for(teacher_user)
    pid = api.post("/api/v1/partnerships", json={"name": "P", "role": "teacher"}).json[
        "partnership"
    ]["id"]
    iid = api.post(
        f"/api/v1/partnerships/{pid}/invitations",
        json={"email": "ben@school.example", "role": "coach"},
    ).json["id"]
    with app.app_context():
        db.session.add(Membership(partnership_id=pid, user_id=coach_user.id, role="coach"))
        db.session.commit()
    path = f"/api/v1/partnerships/{pid}/invitations/{iid}/resend"
    for _ in range(5):
        assert api.post(path).status_code == 200
    teacher = browser_for(teacher_user)
    page_path = f"/partnerships/{pid}/invitations/{iid}/resend"
    for _ in range(5):
        assert post_form(teacher, page_path).status_code == 302
    refused = api.post(path)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert "10 times in the last hour" in refused.json["error"]["message"]
    on_page = post_form(teacher, page_path)
    assert on_page.status_code == 429
    assert "10 times in the last hour" in on_page.get_data(as_text=True)
    # The limit is the account's: the coach may still resend.
    assert api_for(coach_user).post(path).status_code == 200


def test_outsiders_cannot_see_resend_or_withdraw_an_invitation(
    app, make_user, browser_for, api_for
):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    invite(teacher, pid, "ben@school.example")
    iid = only_invitation(app, pid).id
    outsider = make_user()
    assert (
        post_form(
            browser_for(outsider), f"/partnerships/{pid}/invitations/{iid}/resend"
        ).status_code
        == 404
    )
    api = api_for(outsider)
    assert api.post(f"/api/v1/partnerships/{pid}/invitations/{iid}/resend").status_code == 404
    assert api.get(f"/api/v1/partnerships/{pid}/invitations").status_code == 404
