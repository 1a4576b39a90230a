"""A meeting's event stream over real HTTP, on werkzeug and on the embedded cheroot
server: what members hear, what they never hear, and who is dropped."""

from __future__ import annotations

import time

import pytest

from tests.conftest import serving
from tests.meetings.conftest import MeetingWorld, refused_stream
from videocoach.meetings import stream

SERVERS = ["werkzeug", "cheroot"]


@pytest.fixture(params=SERVERS)
def base_url(request, world: MeetingWorld):
    with serving(world.studio.app, request.param) as url:
        yield url


@pytest.fixture(autouse=True)
def quick_heartbeat(monkeypatch) -> None:
    """Check-ins every 0.3 s instead of 10 s, so a closed browser is noticed quickly."""
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.3)


def test_members_hear_playback_comments_notes_and_steps(
    world: MeetingWorld, base_url: str, listen
) -> None:
    mid = world.start()["id"]
    coach = listen(base_url, mid, world.studio.tokens["coach"])
    hello = coach.events[0][1]
    assert hello["id"] == mid and hello["playback"]["driver"]["name"] == "Tess"
    world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"position": 7.25, "client_id": "a"})
    played = coach.wait_for("playback")
    assert (played["position"], played["playing"], played["client_id"]) == (7.25, False, "a")

    private = world.api(
        "teacher",
        "POST",
        f"/clips/{world.clip_id}/comments",
        {"body": "Only mine", "t_start": 2, "private": True},
    ).json["comment"]
    shared = world.api(
        "teacher", "POST", f"/clips/{world.clip_id}/comments", {"body": "Look here", "t_start": 3}
    ).json["comment"]
    assert coach.wait_for("comment")["id"] == shared["id"]
    world.api("teacher", "PATCH", f"/comments/{shared['id']}", {"resolved": True})
    assert coach.wait_for("comment", resolved=True)["id"] == shared["id"]
    world.api("teacher", "DELETE", f"/comments/{shared['id']}")
    assert coach.wait_for("comment_deleted")["id"] == shared["id"]
    world.api("teacher", "PATCH", f"/comments/{private['id']}", {"body": "Still only mine"})

    world.api(
        "teacher", "PUT", f"/meetings/{mid}/notes", {"notes": "Wait time", "notes_version": 0}
    )
    assert coach.wait_for("notes")["notes"] == "Wait time"
    world.api(
        "teacher",
        "POST",
        f"/partnerships/{world.studio.pid}/next-steps",
        {"text": "Count to five", "meeting_id": mid, "goal_id": world.goal_id},
    )
    assert coach.wait_for("next_step")["text"] == "Count to five"
    # A private note never travels on the channel, not even its id.
    assert all(private["id"] not in str(data) for _, data in coach.events)


def eventually(check, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_presence_follows_who_is_connected(world: MeetingWorld, base_url: str, listen) -> None:
    mid = world.start()["id"]
    teacher = listen(base_url, mid, world.studio.tokens["teacher"])
    coach = listen(base_url, mid, world.studio.tokens["coach"])

    def present() -> list[str]:
        last = teacher.last("presence") or {"present": []}
        return sorted(person["name"] for person in last["present"])

    assert eventually(lambda: present() == ["Cole", "Tess"]), present()
    coach.close()  # the browser tab goes away without a word
    assert eventually(lambda: present() == ["Tess"]), present()
    meeting = world.api("teacher", "GET", f"/meetings/{mid}").json["meeting"]
    assert [person["name"] for person in meeting["present"]] == ["Tess"]


def test_a_removed_member_is_dropped_from_the_stream(
    world: MeetingWorld, base_url: str, listen
) -> None:
    mid = world.start()["id"]
    coach = listen(base_url, mid, world.studio.tokens["coach"])
    removed = world.api(
        "teacher", "DELETE", f"/partnerships/{world.studio.pid}/members/{world.studio.coach_id}"
    )
    assert removed.status_code == 204
    assert "no longer" in coach.wait_for("bye")["reason"]
    assert coach.closed.wait(5)
    world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"position": 30})
    time.sleep(0.3)
    assert "playback" not in coach.kinds()
    again = refused_stream(base_url, mid, world.studio.tokens["coach"])
    assert again.status_code == 404


def test_unsharing_the_clip_drops_the_others(world: MeetingWorld, base_url: str, listen) -> None:
    mid = world.start()["id"]
    teacher = listen(base_url, mid, world.studio.tokens["teacher"])
    coach = listen(base_url, mid, world.studio.tokens["coach"])
    world.api("teacher", "PATCH", f"/clips/{world.clip_id}", {"visibility": "private"})
    coach.wait_for("bye")
    world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"position": 5})
    assert teacher.wait_for("playback")["position"] == 5


def test_ending_tells_everyone_and_closes_the_streams(
    world: MeetingWorld, base_url: str, listen
) -> None:
    mid = world.start()["id"]
    coach = listen(base_url, mid, world.studio.tokens["coach"])
    world.api("teacher", "POST", f"/meetings/{mid}/end")
    assert coach.wait_for("ended")["by"]["name"] == "Tess"
    assert coach.closed.wait(5)


@pytest.mark.parametrize("who", ["outsider", "admin"])
def test_outsiders_cannot_listen(world: MeetingWorld, base_url: str, make_user, who) -> None:
    mid = world.start()["id"]
    token = world.studio.tokens["outsider"]
    if who == "admin":
        from videocoach import db
        from videocoach.accounts import services as accounts
        from videocoach.accounts.models import User

        admin = make_user(admin=True)
        with world.studio.app.app_context():
            token = accounts.issue_token(db.session.get(User, admin.id), "t")[0]
            db.session.commit()
    response = refused_stream(base_url, mid, token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_streams_beyond_the_limit_are_refused_until_one_closes(
    world: MeetingWorld, make_app, listen
) -> None:
    mid = world.start()["id"]
    limited = make_app(VIDEOCOACH_LIVE_STREAMS="1")
    with serving(limited, "cheroot") as url:
        first = listen(url, mid, world.studio.tokens["teacher"])
        refused = refused_stream(url, mid, world.studio.tokens["coach"])
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "too_many_live_connections"
        first.close()
        assert eventually(lambda: limited.extensions["videocoach.live"].hub.subscriber_count() == 0)
        assert listen(url, mid, world.studio.tokens["coach"]).events[0][0] == "hello"
