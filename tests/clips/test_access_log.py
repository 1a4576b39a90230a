"""Who watched my clip (issue 14): a partner's plays, exports and meetings, the first time
each day, shown to the clip's uploader and to nobody else, site admins included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from videocoach import db
from videocoach.accounts import services as accounts
from videocoach.accounts.models import User
from videocoach.clips import access_log
from videocoach.db import utcnow
from videocoach.meetings import services as meetings


@pytest.fixture
def admin_token(app, make_user) -> str:
    admin = make_user(name="Ada Admin", admin=True)
    with app.app_context():
        token = accounts.issue_token(db.session.merge(admin), "t")[0]
        db.session.commit()
    return token


def log_of(pair, clip_id: str) -> list[tuple[str, str]]:
    answer = pair.get(f"/api/v1/clips/{clip_id}/access-log")
    assert answer.status_code == 200, answer.data
    return [(item["user"]["name"], item["action"]) for item in answer.json["items"]]


def played(pair, clip_id: str, who: str) -> int:
    return (
        pair.client().post(f"/api/v1/clips/{clip_id}/plays", headers=pair.headers(who)).status_code
    )


def test_a_partners_plays_exports_and_meetings_are_logged_once_a_day(pair) -> None:
    clip_id = pair.add_clip_row()
    assert log_of(pair, clip_id) == []
    assert played(pair, clip_id, "coach") == 204
    assert played(pair, clip_id, "coach") == 204  # the same day: no second line
    assert played(pair, clip_id, "teacher") == 204  # the uploader's own plays: not logged
    for export in ("comments.csv", "comments.vtt", "summary"):
        assert pair.get(f"/clips/{clip_id}/{export}", "coach").status_code == 200
    with pair.app.app_context():
        coach = db.session.get(User, pair.coach_id)
        meeting, _ = meetings.start_meeting(coach, clip_id)
        meetings.open_connection(coach, meeting.id, connection_id="c1", per_person=3, per_meeting=8)
        db.session.commit()

    assert sorted(log_of(pair, clip_id)) == [
        ("Cole", "exported"), ("Cole", "meeting"), ("Cole", "played"),
    ]  # fmt: skip
    item = pair.get(f"/api/v1/clips/{clip_id}/access-log").json["items"][0]
    assert set(item) == {"user", "action", "at"}
    assert set(item["user"]) == {"id", "name"}  # no email: only who, what and when


def test_a_new_day_is_a_new_line_newest_first(pair, monkeypatch) -> None:
    clip_id = pair.add_clip_row()
    assert played(pair, clip_id, "coach") == 204
    tomorrow = utcnow() + timedelta(days=1)
    monkeypatch.setattr(access_log, "utcnow", lambda: tomorrow)
    assert played(pair, clip_id, "coach") == 204
    items = pair.get(f"/api/v1/clips/{clip_id}/access-log").json["items"]
    assert [item["action"] for item in items] == ["played", "played"]
    assert items[0]["at"] > items[1]["at"]


def test_only_the_uploader_reads_the_log(pair, admin_token) -> None:
    clip_id = pair.add_clip_row()
    assert played(pair, clip_id, "coach") == 204
    url = f"/api/v1/clips/{clip_id}/access-log"
    assert pair.get(url, "coach").status_code == 404
    assert pair.get(url, "outsider").status_code == 404
    admin = pair.client().get(url, headers={"Authorization": f"Bearer {admin_token}"})
    assert admin.status_code == 404
    assert pair.client().get(url).status_code == 401


def test_nobody_logs_a_play_of_a_clip_they_cannot_see(pair) -> None:
    private = pair.add_clip_row(visibility="private")
    assert played(pair, private, "coach") == 404
    assert played(pair, private, "outsider") == 404
    assert log_of(pair, private) == []


def test_deleting_the_clip_deletes_its_log(pair) -> None:
    clip_id = pair.add_clip_row()
    assert played(pair, clip_id, "coach") == 204
    assert (
        pair.client().delete(f"/api/v1/clips/{clip_id}", headers=pair.headers()).status_code == 204
    )
    from videocoach.clips.models import ClipAccess

    with pair.app.app_context():
        assert db.session.query(ClipAccess).count() == 0
