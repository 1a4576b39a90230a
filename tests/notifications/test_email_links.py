"""The links in a notification email lead where the person who caused it was: the worker
that sends it, outside any request, uses VIDEOCOACH_PUBLIC_URL when set, else the address
of the request that caused the email (as invitation links do), never a made-up host."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.conftest import serving
from tests.notifications.conftest import build_world
from tests.notifications.test_email import body_of
from tests.test_email import smtp_sink  # noqa: F401  (the fixture)
from videocoach import jobs

PUBLIC = "https://coach.school.example"


@pytest.fixture
def queued(monkeypatch) -> list[tuple[str, tuple]]:
    """The jobs the app hands to the broker, kept here for a worker to run later."""
    kept: list[tuple[str, tuple]] = []
    monkeypatch.setattr(jobs, "enqueue", lambda name, *args, **_: kept.append((name, args)))
    return kept


def run_as_the_worker(app, queued: list[tuple[str, tuple]]) -> None:
    """Run the queued jobs as a worker does: an app context, no request."""
    with app.app_context():
        for name, args in queued:
            app.extensions["celery"].tasks[name](*json.loads(json.dumps(args)))


@pytest.mark.parametrize("public_url", [None, PUBLIC], ids=["no public url", "public url"])
def test_comment_email_links_use_the_public_url_or_the_address_used(
    app,
    make_app,
    make_user,
    smtp_sink,  # noqa: F811  (the fixture imported above)
    queued,
    public_url,
):
    sink, smtp_url = smtp_sink
    settings = {"VIDEOCOACH_PUBLIC_URL": public_url} if public_url else {}
    mail_app = make_app(SMTP_URL=smtp_url, **settings)
    world = build_world(mail_app, make_user)
    with serving(mail_app) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            f"{base_url}/api/v1/clips/{world.clip_id}/comments",
            data=json.dumps({"body": "Lovely pause", "t_start": 1}).encode(),
            headers={
                "Authorization": f"Bearer {world.tokens['coach']}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 201
    assert sink.messages == []  # the email waits for the worker
    run_as_the_worker(mail_app, queued)

    (message,) = sink.messages
    expected = public_url or base_url
    links = re.findall(r"https?://\S+", body_of(message))
    assert links, body_of(message)
    assert all(link.startswith(expected + "/") for link in links), links
    # The comment's own place on the clip page (#comment-<id>: it scrolls there).
    assert any(link.startswith(f"{expected}/clips/{world.clip_id}#comment-") for link in links)
    assert message["List-Unsubscribe"].startswith(f"<{expected}/notifications/unsubscribe/")


SCHOOL = "http://videocoach.school.lan:8080"


def sign_in_on(app, email: str, origin: str) -> None:
    """Sign in through the real form, on `origin` (the address the person typed)."""
    from tests.conftest import CSRF_INPUT, PASSWORD

    client = app.test_client()
    form = client.get("/login", base_url=origin)
    token = CSRF_INPUT.search(form.get_data(as_text=True)).group(1)
    answer = client.post(
        "/login",
        base_url=origin,
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)


@pytest.mark.parametrize("preference", ["immediate", "daily"])
def test_emails_no_request_caused_link_where_the_recipient_signs_in(
    app,
    make_app,
    make_user,
    smtp_sink,  # noqa: F811  (the fixture imported above)
    queued,
    preference,
):
    """A clip that finished processing (the worker's own doing) and the daily digest: no
    request's address comes with them, so they use the one the recipient signed in on."""
    from videocoach import db, transaction
    from videocoach.accounts.models import User
    from videocoach.notifications import services as notifications

    sink, smtp_url = smtp_sink
    mail_app = make_app(SMTP_URL=smtp_url)
    world = build_world(mail_app, make_user)
    with mail_app.app_context():
        teacher = db.session.get(User, world.ids["teacher"])
        teacher.email_notifications = preference
        email = teacher.email
        db.session.commit()
    sign_in_on(mail_app, email, SCHOOL)
    with mail_app.app_context():
        notifications.clip_processed(world.clip_id, ready=True)
        transaction.commit()  # as the pipeline does: the email job is queued after it
        if preference == "daily":
            assert notifications.send_daily_digests() == 1
    run_as_the_worker(mail_app, queued)

    (message,) = sink.messages
    links = re.findall(r"https?://\S+", body_of(message))
    assert any(link.startswith(f"{SCHOOL}/clips/{world.clip_id}") for link in links), links
    assert all(link.startswith(SCHOOL + "/") for link in links), links
    assert message["List-Unsubscribe"].startswith(f"<{SCHOOL}/notifications/unsubscribe/")
