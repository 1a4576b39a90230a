"""Notification emails through a real SMTP sink (aiosmtpd): the right people, the right
messages, a working one-click unsubscribe, and nothing for anyone outside the partnership."""

from __future__ import annotations

import email
import email.policy
import re
from email.header import decode_header, make_header

import pytest

from tests.notifications.conftest import World, build_world
from tests.test_email import smtp_sink  # noqa: F401  (the fixture)
from videocoach import db
from videocoach.accounts.models import User
from videocoach.notifications import services

PUBLIC = "https://coach.school.example"


@pytest.fixture
def mail_world(app, make_app, make_user, smtp_sink):  # noqa: F811
    sink, url = smtp_sink
    mail_app = make_app(SMTP_URL=url, VIDEOCOACH_TASKS_EAGER="1", VIDEOCOACH_PUBLIC_URL=PUBLIC)
    return build_world(mail_app, make_user), sink


def email_of(world: World, who: str) -> str:
    with world.app.app_context():
        return db.session.get(User, world.ids[who]).email


def subject_of(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


def unsubscribe_link(message) -> str:
    match = re.search(r"(https://\S+/notifications/unsubscribe/[\w.-]+)", body_of(message))
    assert match, body_of(message)
    return match.group(1)


def test_the_uploader_is_emailed_when_the_coach_comments(mail_world):
    world, sink = mail_world
    comment = world.comment("coach")
    assert [m["To"] for m in sink.messages] == [email_of(world, "teacher")]
    message = sink.messages[0]
    assert subject_of(message) == "Cole commented on your clip “Fractions lesson”."
    body = body_of(message)
    assert f"{PUBLIC}/clips/{world.clip_id}#comment-{comment['id']}\r\n" in body
    link = unsubscribe_link(message)
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert world.api("teacher", "GET", "/notifications").json["unread"] == 1


def test_nobody_outside_the_partnership_is_ever_emailed(mail_world):
    world, sink = mail_world
    parent = world.comment("coach")
    world.comment("pat", parent_id=parent["id"])
    world.comment("coach", private=True)
    clip_id = world.add_clip(visibility="private")
    world.api("teacher", "PATCH", f"/clips/{clip_id}", {"visibility": "shared"})
    recipients = sorted(m["To"] for m in sink.messages)
    assert recipients == sorted(
        [
            email_of(world, "teacher"),  # the coach's comment
            email_of(world, "teacher"),  # Pat's reply, on the teacher's clip
            email_of(world, "coach"),  # Pat replied to the coach
            email_of(world, "coach"),  # the clip shared with the coach...
            email_of(world, "pat"),  # ...and with Pat
        ]
    )
    for who in ("outsider", "admin"):
        assert email_of(world, who) not in recipients


def test_daily_users_get_one_digest_and_nothing_immediately(mail_world):
    world, sink = mail_world
    world.set_preference("teacher", "daily")
    comments = [world.comment("coach"), world.comment("pat")]
    assert sink.messages == []
    with world.app.app_context():
        task = world.app.extensions["celery"].tasks[services.SEND_DIGESTS]
        task.apply()
    assert [m["To"] for m in sink.messages] == [email_of(world, "teacher")]
    digest = sink.messages[0]
    assert subject_of(digest) == "videocoach: 2 new notifications"
    body = body_of(digest)
    assert "Cole commented on your clip" in body and "Pat Peer commented" in body
    for comment in comments:  # made by a worker, outside any request
        assert f"{PUBLIC}/clips/{world.clip_id}#comment-{comment['id']}\r\n" in body
    assert digest["List-Unsubscribe"] == f"<{unsubscribe_link(digest)}>"
    with world.app.app_context():
        assert services.send_daily_digests() == 0  # nothing new since
    assert len(sink.messages) == 1


def test_read_notifications_stay_out_of_the_digest(mail_world):
    world, sink = mail_world
    world.set_preference("teacher", "daily")
    world.comment("coach")
    world.api("teacher", "POST", "/notifications/read", {})
    with world.app.app_context():
        assert services.send_daily_digests() == 0
    assert sink.messages == []


def test_off_means_no_email_but_still_in_the_app(mail_world):
    world, sink = mail_world
    world.set_preference("teacher", "off")
    world.comment("coach")
    with world.app.app_context():
        services.send_daily_digests()
    assert sink.messages == []
    assert world.api("teacher", "GET", "/notifications").json["unread"] == 1


def test_the_unsubscribe_link_works_without_signing_in(mail_world):
    world, sink = mail_world
    world.comment("coach")
    link = unsubscribe_link(sink.messages[0])
    path = link.removeprefix(PUBLIC)
    anonymous = world.app.test_client()
    page = anonymous.get(path)
    assert page.status_code == 200
    assert "<button" in page.text and "Unsubscribe" in page.text
    with world.app.app_context():  # a GET (a link scanner) changes nothing
        assert db.session.get(User, world.ids["teacher"]).email_notifications == "immediate"
    # RFC 8058: one POST, no session, no CSRF token
    done = world.app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    with world.app.app_context():
        assert db.session.get(User, world.ids["teacher"]).email_notifications == "off"
    world.comment("pat")
    assert len(sink.messages) == 1


def test_a_tampered_unsubscribe_token_does_not_exist(mail_world):
    world, _sink = mail_world
    with world.app.app_context():
        token = services.unsubscribe_token(db.session.get(User, world.ids["teacher"]))
    client = world.app.test_client()
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense"):
        assert client.get(f"/notifications/unsubscribe/{bad}").status_code == 404
        assert client.post(f"/notifications/unsubscribe/{bad}").status_code == 404
    with world.app.app_context():
        assert db.session.get(User, world.ids["teacher"]).email_notifications == "immediate"


def test_the_account_page_sets_the_preference(mail_world):
    from tests.conftest import post_form
    from tests.notifications.test_in_app import signed_in

    world, _sink = mail_world
    client = signed_in(world, "teacher")
    assert 'value="immediate" checked' in client.get("/account").text
    response = post_form(client, "/account/notifications", {"email_notifications": "daily"})
    assert response.status_code == 302
    assert 'value="daily" checked' in client.get("/account").text
    post_form(client, "/account/notifications", {"email_notifications": "hourly"})
    assert 'value="daily" checked' in client.get("/account").text


def test_without_smtp_emails_are_kept_in_the_outbox_and_the_log_names_only_who_and_what(
    world, caplog
):
    caplog.set_level("INFO", logger="videocoach.mail")
    world.comment("coach")
    logged = [r.getMessage() for r in caplog.records if r.name == "videocoach.mail"]
    assert len(logged) == 1
    assert "Cole commented on your clip" in logged[0]  # the subject
    assert email_of(world, "teacher") in logged[0]
    outbox = world.app.extensions["videocoach.settings"].data_dir / "outbox"
    [kept] = [path for path in outbox.glob("*.eml")]
    assert str(kept) in logged[0]
    message = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
    assert message["To"] == email_of(world, "teacher")
    text = body_of(message)
    assert f"/clips/{world.clip_id}" in text
    # The body (here: its link) is in the file, never in the log.
    assert all(f"/clips/{world.clip_id}" not in line for line in logged)


def test_partners_are_emailed_a_link_when_a_meeting_starts(mail_world):
    world, sink = mail_world
    started = world.api("teacher", "POST", f"/clips/{world.clip_id}/meetings")
    assert started.status_code == 201
    meeting_id = started.json["meeting"]["id"]
    assert sorted(m["To"] for m in sink.messages) == sorted(
        [email_of(world, "coach"), email_of(world, "pat")]
    )
    for message in sink.messages:
        assert subject_of(message) == (
            "Tess started a meeting on “Fractions lesson”. Join to watch it together."
        )
        assert f"{PUBLIC}/meetings/{meeting_id}" in body_of(message)
    # Joining the meeting already under way tells nobody again.
    world.api("coach", "POST", f"/clips/{world.clip_id}/meetings")
    assert len(sink.messages) == 2


# A name stored before names were cleaned (videocoach/limits.one_line) may hold a line
# break, an escape and a bidi override; the email about it must still go out.
LEGACY_NAME = "Cole\nR\r\x1b[31m e\u0301\u202e"


def test_a_legacy_name_with_a_line_break_is_still_emailed_with_an_encoded_subject(mail_world):
    world, sink = mail_world
    with world.app.app_context():
        db.session.get(User, world.ids["coach"]).name = LEGACY_NAME
        db.session.commit()
    world.comment("coach")
    (message,) = sink.messages
    assert message["To"] == email_of(world, "teacher")
    assert subject_of(message) == "Cole R [31m \u00e9 commented on your clip “Fractions lesson”."
    raw = message["Subject"]
    assert raw.isascii() and "=?utf-8?" in raw.lower()  # RFC 2047 words, not raw bytes
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", raw)  # a folded header is still one line
    assert not any(character in unfolded for character in "\r\n\x1b\u202e")
    assert world.api("teacher", "GET", "/notifications").json["unread"] == 1


def test_the_digest_groups_comments_by_clip_and_person(mail_world):
    world, sink = mail_world
    world.set_preference("teacher", "daily")
    coach = [world.comment("coach", body=f"Coach says {n}") for n in range(3)]
    pat = world.comment("pat", body="Pat says hello")
    with world.app.app_context():
        assert services.send_daily_digests() == 1
    (digest,) = sink.messages
    assert subject_of(digest) == "videocoach: 4 new notifications"
    body = body_of(digest)
    assert body.count("Cole left 3 comments on “Fractions lesson”.") == 1
    assert "Cole commented" not in body
    assert "“Coach says 2”" in body and "“Coach says 1”" in body  # the latest two
    assert "Coach says 0" not in body
    assert f"{PUBLIC}/clips/{world.clip_id}#comment-{coach[-1]['id']}\r\n" in body
    assert f"#comment-{coach[0]['id']}" not in body
    assert "Pat Peer commented on your clip “Fractions lesson”." in body
    assert f"#comment-{pat['id']}\r\n" in body
    # newest first: Pat's comment came last
    assert body.index("Pat Peer commented") < body.index("Cole left 3 comments")


def test_an_immediate_email_quotes_the_first_words_of_the_comment(mail_world):
    world, sink = mail_world
    world.comment("coach", body="You **waited** three seconds and more hands went up")
    assert "  “You waited three seconds and more hands went up”\r\n" in body_of(sink.messages[0])
