"""Meetings through the API: start or join, the driver alone moves the shared playback,
hand-over, notes that never overwrite each other unseen, next steps agreed in a meeting,
ending, and the partners' notification."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.meetings.conftest import MeetingWorld
from videocoach import db
from videocoach.meetings import services
from videocoach.meetings.models import Meeting, MeetingConnection


def test_starting_twice_joins_the_running_meeting(world: MeetingWorld) -> None:
    first = world.api("teacher", "POST", f"/clips/{world.clip_id}/meetings")
    assert first.status_code == 201
    meeting = first.json["meeting"]
    assert meeting["clip_id"] == world.clip_id
    assert meeting["playback"] == {
        "position": 0.0,
        "playing": False,
        "rate": 1.0,
        "driver": {"id": world.studio.teacher_id, "name": "Tess"},
    }
    again = world.api("coach", "POST", f"/clips/{world.clip_id}/meetings")
    assert again.status_code == 200
    assert again.json["meeting"]["id"] == meeting["id"]
    listed = world.api("coach", "GET", f"/partnerships/{world.studio.pid}/meetings")
    assert [m["id"] for m in listed.json["items"]] == [meeting["id"]]


def test_a_private_clip_cannot_host_a_meeting(world: MeetingWorld) -> None:
    private = world.add_clip(visibility="private")
    response = world.api("teacher", "POST", f"/clips/{private}/meetings")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "clip_private"
    assert world.api("coach", "POST", f"/clips/{private}/meetings").status_code == 404


def test_only_the_driver_moves_the_playback(world: MeetingWorld) -> None:
    mid = world.start()["id"]
    moved = world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"position": 12.5})
    assert moved.status_code == 200
    assert moved.json["playback"]["position"] == 12.5
    refused = world.api("coach", "PUT", f"/meetings/{mid}/playback", {"position": 3})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "not_driver"
    assert world.api("coach", "GET", f"/meetings/{mid}").json["meeting"]["playback"][
        "position"
    ] == pytest.approx(12.5)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"position": -1}, "position"),
        ({"position": 61.5}, "position"),
        ({"position": "soon"}, "position"),
        ({"rate": 3.5}, "rate"),
        ({"playing": "yes"}, "playing"),
    ],
)
def test_playback_values_are_checked(world: MeetingWorld, body, field) -> None:
    mid = world.start()["id"]
    response = world.api("teacher", "PUT", f"/meetings/{mid}/playback", body)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_playing_moves_the_shared_moment_on_at_the_chosen_speed(world: MeetingWorld) -> None:
    mid = world.start()["id"]
    world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"position": 10, "rate": 2.0})
    world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"playing": True})
    with world.studio.app.app_context():
        meeting = db.session.get(Meeting, mid)
        meeting.playback_at -= timedelta(seconds=3)  # as if it had played for 3 s
        db.session.commit()
    playback = world.api("coach", "GET", f"/meetings/{mid}").json["meeting"]["playback"]
    assert playback["playing"] is True
    assert 15.9 <= playback["position"] <= 16.5  # 10 s + 3 s x 2
    # A pause keeps the moment reached instead of jumping back to 10 s.
    paused = world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"playing": False})
    assert paused.json["playback"]["position"] >= 15.9


def test_hand_over_and_take_over_from_an_absent_driver(world: MeetingWorld) -> None:
    mid = world.start()["id"]
    coach, teacher = world.studio.coach_id, world.studio.teacher_id
    with world.studio.app.app_context():
        # The teacher (driving) is connected: nobody else may take the wheel.
        db.session.add(MeetingConnection(meeting_id=mid, user_id=teacher))
        db.session.commit()
    grab = world.api("coach", "PUT", f"/meetings/{mid}/driver", {"driver_id": coach})
    assert grab.status_code == 403
    handed = world.api("teacher", "PUT", f"/meetings/{mid}/driver", {"driver_id": coach})
    assert handed.status_code == 200
    assert handed.json["meeting"]["playback"]["driver"]["id"] == coach
    outsider_id = world.api("outsider", "GET", "/me").json["user"]["id"]
    wrong = world.api("coach", "PUT", f"/meetings/{mid}/driver", {"driver_id": outsider_id})
    assert wrong.status_code == 422
    # The coach (driving now) is not connected: the teacher may take it back.
    back = world.api("teacher", "PUT", f"/meetings/{mid}/driver", {"driver_id": teacher})
    assert back.status_code == 200


def test_notes_are_saved_against_a_version_and_never_overwritten_unseen(
    world: MeetingWorld,
) -> None:
    mid = world.start()["id"]
    first = world.api(
        "teacher", "PUT", f"/meetings/{mid}/notes", {"notes": "A", "notes_version": 0}
    )
    assert first.status_code == 200
    assert first.json["meeting"]["notes_version"] == 1
    stale = world.api("coach", "PUT", f"/meetings/{mid}/notes", {"notes": "B", "notes_version": 0})
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "notes_changed"
    assert world.api("coach", "GET", f"/meetings/{mid}").json["meeting"]["notes"] == "A"
    merged = world.api(
        "coach", "PUT", f"/meetings/{mid}/notes", {"notes": "A\nB", "notes_version": 1}
    )
    assert merged.json["meeting"]["notes"] == "A\nB"
    too_long = world.api(
        "coach",
        "PUT",
        f"/meetings/{mid}/notes",
        {"notes": "x" * (services.NOTES_MAX + 1), "notes_version": 2},
    )
    assert too_long.status_code == 422


def test_next_steps_agreed_in_a_meeting(world: MeetingWorld) -> None:
    mid = world.start()["id"]
    created = world.api(
        "coach",
        "POST",
        f"/partnerships/{world.studio.pid}/next-steps",
        {
            "text": "Count to five",
            "goal_id": world.goal_id,
            "owner_id": world.studio.teacher_id,
            "due_on": "2026-12-15",
            "meeting_id": mid,
        },
    )
    assert created.status_code == 201, created.json
    step = created.json["next_step"]
    assert step["meeting_id"] == mid and step["goal_id"] == world.goal_id
    meeting = world.api("teacher", "GET", f"/meetings/{mid}").json["meeting"]
    assert [s["text"] for s in meeting["next_steps"]] == ["Count to five"]
    # It shows on the partnership's open next steps (home and goals page) until done.
    open_steps = world.api("teacher", "GET", f"/partnerships/{world.studio.pid}/next-steps")
    assert [s["id"] for s in open_steps.json["items"]] == [step["id"]]
    unknown = world.api(
        "coach",
        "POST",
        f"/partnerships/{world.studio.pid}/next-steps",
        {"text": "Elsewhere", "meeting_id": "nope"},
    )
    assert unknown.status_code == 422


def test_ending_keeps_the_record_and_stops_the_playback(world: MeetingWorld) -> None:
    mid = world.start()["id"]
    world.api("teacher", "PUT", f"/meetings/{mid}/notes", {"notes": "Kept", "notes_version": 0})
    ended = world.api("coach", "POST", f"/meetings/{mid}/end")
    assert ended.status_code == 200
    assert ended.json["meeting"]["ended_at"] is not None
    assert ended.json["meeting"]["notes"] == "Kept"
    late = world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"position": 1})
    assert late.status_code == 409
    assert world.api("teacher", "GET", f"/meetings/{mid}/events").status_code == 409
    # The next start opens a new meeting.
    assert world.api("teacher", "POST", f"/clips/{world.clip_id}/meetings").status_code == 201


def test_partners_are_notified_with_a_link_to_the_meeting(world: MeetingWorld) -> None:
    mid = world.start()["id"]
    items = world.api("coach", "GET", "/notifications").json["items"]
    assert [(n["event"], n["url"]) for n in items] == [("meeting_started", f"/meetings/{mid}")]
    assert "Tess started a meeting" in items[0]["text"]
    assert world.api("teacher", "GET", "/notifications").json["items"] == []
    assert world.api("outsider", "GET", "/notifications").json["items"] == []


def test_unsharing_the_clip_closes_its_meeting_to_the_others(world: MeetingWorld) -> None:
    mid = world.start()["id"]
    assert world.api("teacher", "PATCH", f"/clips/{world.clip_id}", {"visibility": "private"})
    assert world.api("coach", "GET", f"/meetings/{mid}").status_code == 404
    assert world.api("teacher", "GET", f"/meetings/{mid}").status_code == 200
