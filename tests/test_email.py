"""Invitation emails through a real SMTP sink (aiosmtpd) when SMTP_URL is set."""

from __future__ import annotations

import email
import re
import socket
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import PASSWORD
from videocoach import db
from videocoach.accounts.models import User


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_sink():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, f"smtp://127.0.0.1:{port}"
    controller.stop()


def invite_cole(app, teacher, partnership_name: str = "Tess + Cole"):
    """Sign in as `teacher` on `app`, start a partnership, invite cole@school.example."""
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/tokens", json={"email": teacher.email, "password": PASSWORD}
    ).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    pid = client.post(
        "/api/v1/partnerships",
        json={"name": partnership_name, "role": "teacher"},
        headers=headers,
    ).json["partnership"]["id"]
    return client.post(
        f"/api/v1/partnerships/{pid}/invitations",
        json={"email": "cole@school.example", "role": "coach"},
        headers=headers,
    )


def test_invitation_is_emailed_to_the_invitee_only(make_app, make_user, smtp_sink):
    sink, url = smtp_sink
    teacher = make_user(name="Tess Teacher")
    app = make_app(
        SMTP_URL=url,
        VIDEOCOACH_PUBLIC_URL="https://coach.school.example",
        VIDEOCOACH_TASKS_EAGER="1",  # the email goes out from a worker task
    )
    invitation = invite_cole(app, teacher).json
    assert invitation["accept_url"].startswith("https://coach.school.example/invitations/accept?")
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message["To"] == "cole@school.example"
    assert "Tess Teacher" in message["Subject"]
    body = message.get_payload(decode=True).decode()
    assert invitation["accept_url"] in body
    assert "Tess + Cole" in body


def test_unreachable_smtp_does_not_lose_the_invitation(make_app, make_user):
    app = make_app(SMTP_URL="smtp://127.0.0.1:9")  # nothing listens on the discard port
    response = invite_cole(app, make_user())
    assert response.status_code == 201
    assert response.json["accept_url"]  # shown to the inviter, who can pass it on


def test_the_invitation_email_is_sent_by_a_worker_not_by_the_request(
    make_app, make_user, smtp_sink
):
    sink, url = smtp_sink
    app = make_app(SMTP_URL=url)  # jobs queue up for a worker; none runs in this test
    response = invite_cole(app, make_user())
    assert response.status_code == 201
    assert sink.messages == []
    queue = app.extensions["videocoach.settings"].data_dir / "queue"
    assert any(queue.iterdir())


def test_an_inviter_whose_stored_name_has_a_line_break_still_gets_the_invitation_out(
    make_app, make_user, smtp_sink
):
    """Names stored before names were cleaned may hold a line break: once a ValueError
    ("Header values may not contain linefeed") in the worker, and no email."""
    sink, url = smtp_sink
    teacher = make_user(name="Tess")
    app = make_app(SMTP_URL=url, VIDEOCOACH_TASKS_EAGER="1")
    with app.app_context():
        db.session.get(User, teacher.id).name = "Tess\r\nBcc: everyone@example.com\n\u202e"
        db.session.commit()
    assert invite_cole(app, teacher).status_code == 201
    (message,) = sink.messages
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", message["Subject"]).strip()
    subject = str(make_header(decode_header(unfolded)))
    assert subject == "Tess Bcc: everyone@example.com  invited you to coach together on videocoach"
    assert message["Bcc"] is None  # a line break never starts a header of its own
    assert message["To"] == "cole@school.example"
