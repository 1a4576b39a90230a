"""Every destructive button asks first: its form carries the sentence static/confirm.js
shows in a dialog (tests/browser/test_confirm.py clicks through it in Chromium)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.conftest import sign_in_as


class Forms(HTMLParser):
    """Each POST form of a page: its attributes and the classes and text of its button."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._in_button = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self._form = {"attrs": attributes, "button_classes": set(), "label": ""}
            self.forms.append(self._form)
        elif tag == "button" and self._form is not None:
            self._form["button_classes"] |= set((attributes.get("class") or "").split())
            self._in_button = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "button":
            self._in_button = False

    def handle_data(self, data):
        if self._in_button and self._form is not None:
            self._form["label"] += data.strip()


def forms_of(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200, path
    parser = Forms()
    parser.feed(response.get_data(as_text=True))
    return parser.forms


@pytest.fixture
def signed_in(app, pair, make_user):
    """The teacher, who is also a site admin, with a token, a pending invitation and a
    partner, signed in on a page client."""
    from videocoach import db
    from videocoach.accounts.models import User

    with app.app_context():
        db.session.get(User, pair.teacher_id).is_admin = True
        db.session.commit()
    invited = pair.client().post(
        f"/api/v1/partnerships/{pair.pid}/invitations",
        json={"email": "pat@school.example", "role": "teacher"},
        headers=pair.headers(),
    )
    assert invited.status_code == 201, invited.json
    client = app.test_client()
    sign_in_as(client, pair.teacher_id)
    return client


ASKED = {
    "/account": {
        "Sign out": "Sign out in this browser? You will need to sign in again here.",
        "Sign out everywhere": "Sign out on every device, this one too?",
        "Revoke": "Scripts that use it stop working at once.",
    },
    "/partnerships/{pid}": {
        "Leave": "Leave “Tess + Cole”? You will no longer see its clips, comments or goals",
        "Remove": "from “Tess + Cole”? They will no longer see its clips, comments or goals.",
        "Withdraw": "Withdraw the invitation to pat@school.example? Its link stops working.",
    },
    "/admin/users": {"Disable": "cannot sign in until it is enabled again."},
}


@pytest.mark.parametrize("path", list(ASKED))
def test_destructive_buttons_ask_first_in_plain_words(pair, signed_in, path: str) -> None:
    forms = forms_of(signed_in, path.format(pid=pair.pid))
    danger = [form for form in forms if "danger" in form["button_classes"]]
    assert danger, "the page has no destructive button to check"
    for form in danger:
        assert form["attrs"].get("data-confirm"), f"{form['label']} acts in one click"
        assert "data-confirm-danger" in form["attrs"]
    by_label = {form["label"]: form["attrs"] for form in forms}
    for label, sentence in ASKED[path].items():
        assert sentence in (by_label[label].get("data-confirm") or ""), (label, by_label[label])
