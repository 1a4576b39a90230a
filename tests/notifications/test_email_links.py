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
