"""A private note stays its author's alone, and so does every reply to it: the partner
never sees, hears of, counts or exports it, and cannot even tell that it exists
(issue #11, finding 5)."""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from tests.conftest import same_answer, sign_in_as
from tests.studio import Studio
from videocoach import db, live
from videocoach.comments.models import Comment
from videocoach.notifications.models import Notification

CLIP_MS = 60_000


@pytest.fixture
def notes(pair: Studio) -> Studio:
    """The teacher's shared clip (rows only), a goal, and the coach's private note on it
    with the coach's own reply: the coach writes, the teacher (the uploader) is the
    partner who must learn nothing."""
    pair.clip_id = pair.add_clip_row(duration_ms=CLIP_MS)
    pair.goal_id = api(
        pair, "teacher", "POST", f"/partnerships/{pair.pid}/goals", {"title": "Wait time"}
    ).json["goal"]["id"]
    return pair


def api(studio: Studio, who: str, method: str, path: str, json: Any = None):
    return studio.client().open(
        f"/api/v1{path}", method=method, json=json, headers=studio.headers(who)
    )


def comment(studio: Studio, who: str = "coach", **body: Any) -> dict[str, Any]:
    response = api(studio, who, "POST", f"/clips/{studio.clip_id}/comments", body)
    assert response.status_code == 201, response.json
    return response.json["comment"]


def private_thread(studio: Studio, **reply: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    note = comment(
        studio,
        body="SECRET-NOTE: I rushed this",
        t_start=12,
        private=True,
        goal_ids=[studio.goal_id],
    )
    answer = comment(
        studio,
        body="SECRET-REPLY: next time wait",
        parent_id=note["id"],
        goal_ids=[studio.goal_id],
        **reply,
    )
    return note, answer


def listed(studio: Studio, who: str) -> list[dict[str, Any]]:
    response = api(studio, who, "GET", f"/clips/{studio.clip_id}/comments")
    assert response.status_code == 200
    return response.json["items"]


def leaks(text: str, *comments: dict[str, Any]) -> list[str]:
    """What of these comments (ids, bodies) appears in `text`."""
    found = []
    for c in comments:
        found += [value for value in (c["id"], c["body"]) if value in text]
    return found


@pytest.mark.parametrize("asked", [{}, {"private": False}])
def test_a_reply_to_a_private_note_is_private(notes: Studio, asked) -> None:
    note, answer = private_thread(notes, **asked)
    # An explicit private: false cannot publish a reply to a note only its author sees.
    assert answer["private"] is True
    assert [c["id"] for c in listed(notes, "coach")] == [note["id"], answer["id"]]
    assert listed(notes, "teacher") == []


def test_a_private_reply_to_a_shared_comment_stays_possible(notes: Studio) -> None:
    shared = comment(notes, "teacher", body="Look at the pause", t_start=5)
    own = comment(notes, body="Mine only", parent_id=shared["id"], private=True)
    public = comment(notes, body="For both", parent_id=shared["id"])
    assert (own["private"], public["private"]) == (True, False)
    assert [c["body"] for c in listed(notes, "teacher")] == ["Look at the pause", "For both"]


def test_replying_to_someone_elses_private_note_looks_like_a_missing_comment(
    notes: Studio,
) -> None:
    note, _ = private_thread(notes)
    guessed = api(
        notes,
        "teacher",
        "POST",
        f"/clips/{notes.clip_id}/comments",
        {"body": "Found you", "parent_id": note["id"]},
    )
    missing = api(
        notes,
        "teacher",
        "POST",
        f"/clips/{notes.clip_id}/comments",
        {"body": "Found you", "parent_id": secrets.token_hex(16)},
    )
    assert guessed.status_code == missing.status_code == 422
    assert same_answer(guessed.json) == same_answer(
        missing.json
    )  # not a word more: no 403, no "private"
    assert listed(notes, "coach")[-1]["body"] != "Found you"
    edit = api(notes, "teacher", "PATCH", f"/comments/{note['id']}", {"body": "x"})
    delete = api(notes, "teacher", "DELETE", f"/comments/{note['id']}")
    nowhere = api(notes, "teacher", "PATCH", f"/comments/{secrets.token_hex(16)}", {"body": "x"})
    assert edit.status_code == delete.status_code == nowhere.status_code == 404
    assert same_answer(edit.json) == same_answer(nowhere.json)


def test_exports_leave_private_replies_to_their_author(notes: Studio) -> None:
    thread = private_thread(notes)
    teacher, coach = notes.client(), notes.client()
    sign_in_as(teacher, notes.teacher_id)
    sign_in_as(coach, notes.coach_id)
    exports = [
        f"/clips/{notes.clip_id}/comments.csv",
        f"/clips/{notes.clip_id}/comments.vtt",
        f"/clips/{notes.clip_id}/summary",
        f"/goals/{notes.goal_id}/comments.csv",
        f"/goals/{notes.goal_id}/summary",
    ]
    for url in exports:
        seen = teacher.get(url)
        assert seen.status_code == 200, url
        assert leaks(seen.get_data(as_text=True), *thread) == [], url
        assert "SECRET-REPLY" in coach.get(url).get_data(as_text=True), url


def test_pages_and_counts_leave_private_replies_out(notes: Studio) -> None:
    teacher = notes.client()
    sign_in_as(teacher, notes.teacher_id)
    home = f"/partnerships/{notes.pid}"
    assert teacher.get(home).status_code == 200  # the visit "since" counts from
    meeting = api(notes, "teacher", "POST", f"/clips/{notes.clip_id}/meetings").json["meeting"]
    thread = private_thread(notes)
    api(notes, "teacher", "POST", f"/meetings/{meeting['id']}/end")
    pages = {
        "clip": f"/clips/{notes.clip_id}",
        "goals": f"/partnerships/{notes.pid}/goals",
        "meeting record": f"/meetings/{meeting['id']}",
        "home": home,
    }
    for name, url in pages.items():
        page = teacher.get(url)
        assert page.status_code == 200, name
        html = page.get_data(as_text=True)
        assert leaks(html, *thread) == [], name
        assert "unread" not in html and "Cole commented" not in html, name
        assert "new comment" not in html, name


def test_private_replies_notify_nobody(notes: Studio) -> None:
    _, answer = private_thread(notes)
    with notes.app.app_context():
        told = db.session.scalars(
            sa.select(Notification).where(Notification.comment_id == answer["id"])
        ).all()
    assert told == []
    listed_for_teacher = api(notes, "teacher", "GET", "/notifications").json
    assert listed_for_teacher["items"] == [] and listed_for_teacher["unread"] == 0


def test_private_replies_never_go_on_the_live_channel(notes: Studio) -> None:
    channel = notes.app.extensions["videocoach.live"]
    subscription = channel.subscribe(
        [live.clip_topic(notes.clip_id), live.partnership_topic(notes.pid)]
    )
    try:
        note, answer = private_thread(notes)
        api(notes, "coach", "PATCH", f"/comments/{answer['id']}", {"body": "SECRET-REPLY 2"})
        api(notes, "coach", "PATCH", f"/comments/{note['id']}", {"resolved": True})
        api(notes, "coach", "DELETE", f"/comments/{answer['id']}")
        api(notes, "coach", "DELETE", f"/comments/{note['id']}")
        shared = comment(notes, "teacher", body="Shared", t_start=3)
        # Everything above would have arrived before this one.
        event = subscription.get(2)
        assert event is not None and (event.kind, event.data["id"]) == ("comment", shared["id"])
        assert subscription.get(0.1) is None
    finally:
        subscription.close()


def test_privacy_is_not_changed_by_editing(notes: Studio) -> None:
    note, answer = private_thread(notes)
    for target in (note, answer):
        edited = api(
            notes,
            "coach",
            "PATCH",
            f"/comments/{target['id']}",
            {"private": False, "body": target["body"] + "!"},
        )
        assert edited.status_code == 200 and edited.json["comment"]["private"] is True
    shared = comment(notes, "teacher", body="Shared", t_start=3)
    kept = api(notes, "teacher", "PATCH", f"/comments/{shared['id']}", {"private": True})
    assert kept.json["comment"]["private"] is False
    assert [c["id"] for c in listed(notes, "teacher")] == [shared["id"]]
    assert [c["private"] for c in listed(notes, "coach")] == [False, True, True]


def test_the_migration_makes_earlier_replies_to_private_notes_private(notes: Studio) -> None:
    """Replies written before the fix were public; the upgrade hides them."""
    _, answer = private_thread(notes)
    with notes.app.app_context():
        db.session.execute(
            sa.update(Comment).where(Comment.id == answer["id"]).values(private=False)
        )
        db.session.commit()
    assert [c["id"] for c in listed(notes, "teacher")] == [answer["id"]]  # the old leak
    engine = notes.app.extensions["videocoach.engine"]
    with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        load_migration("0012_private_replies").upgrade()
    assert listed(notes, "teacher") == []
    assert [c["private"] for c in listed(notes, "coach")] == [True, True]


def load_migration(name: str) -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
