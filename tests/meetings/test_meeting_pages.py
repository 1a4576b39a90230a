"""Meeting pages: start or join from the clip page, the live page, the record after it,
and the partnership home's list of meetings."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import post_form, sign_in_as
from tests.meetings.conftest import MeetingWorld


def page_client(world: MeetingWorld, who: str) -> FlaskClient:
    client = world.studio.client()
    user_id = world.studio.teacher_id if who == "teacher" else world.studio.coach_id
    sign_in_as(client, user_id)
    return client


def test_start_from_the_clip_page_and_join_from_the_partners(world: MeetingWorld) -> None:
    teacher, coach = page_client(world, "teacher"), page_client(world, "coach")
    assert "Start a meeting" in teacher.get(f"/clips/{world.clip_id}").text
    started = post_form(teacher, f"/clips/{world.clip_id}/meetings")
    assert started.status_code == 302
    meeting_url = started.headers["Location"]
    assert meeting_url.startswith("/meetings/")
    live = teacher.get(meeting_url)
    assert live.status_code == 200
    assert 'id="meeting"' in live.text and "End meeting" in live.text
    clip_page = coach.get(f"/clips/{world.clip_id}").text
    assert "Join the meeting" in clip_page and meeting_url in clip_page
    home = coach.get(f"/partnerships/{world.studio.pid}").text
    assert "Under way:" in home and meeting_url in home


def test_a_private_clip_explains_why_there_is_no_meeting(world: MeetingWorld) -> None:
    private = world.add_clip(visibility="private")
    teacher = page_client(world, "teacher")
    page = teacher.get(f"/clips/{private}").text
    assert "Start a meeting" not in page
    assert "this clip is private to you, so your partners cannot see it" in page
    assert f'action="/clips/{private}/meetings/share-and-start"' in page
    refused = post_form(teacher, f"/clips/{private}/meetings", follow_redirects=True)
    assert "Share the clip with your partnership first" in refused.text


def test_share_and_start_shares_the_clip_and_starts_its_meeting(world: MeetingWorld) -> None:
    private = world.add_clip(visibility="private")
    teacher, coach = page_client(world, "teacher"), page_client(world, "coach")
    assert coach.get(f"/clips/{private}").status_code == 404
    started = post_form(teacher, f"/clips/{private}/meetings/share-and-start")
    assert started.status_code == 302
    meeting_url = started.headers["Location"]
    assert meeting_url.startswith("/meetings/")
    assert world.studio.clip(private)["visibility"] == "shared"
    assert "Join the meeting" in coach.get(f"/clips/{private}").text
    assert coach.get(meeting_url).status_code == 200
    events = {n["event"] for n in world.api("coach", "GET", "/notifications").json["items"]}
    assert "meeting_started" in events
    # Pressed again (a second tab, a double click): the same meeting, not a second one.
    again = post_form(teacher, f"/clips/{private}/meetings/share-and-start")
    assert again.headers["Location"] == meeting_url


def test_only_the_uploader_may_share_and_start(world: MeetingWorld) -> None:
    coach = page_client(world, "coach")
    refused = post_form(
        coach, f"/clips/{world.clip_id}/meetings/share-and-start", follow_redirects=True
    )
    assert "Only the person who uploaded this clip can share it." in refused.text
    assert (
        world.api("coach", "GET", f"/partnerships/{world.studio.pid}/meetings").json["items"] == []
    )


def test_share_and_start_needs_the_form_token(world: MeetingWorld) -> None:
    private = world.add_clip(visibility="private")
    teacher = page_client(world, "teacher")
    assert teacher.post(f"/clips/{private}/meetings/share-and-start").status_code == 400
    assert world.studio.clip(private)["visibility"] == "private"


def test_the_record_keeps_notes_steps_and_the_comments_made(world: MeetingWorld) -> None:
    mid = world.start()["id"]
    world.api(
        "teacher",
        "PUT",
        f"/meetings/{mid}/notes",
        {"notes": "Line one\nLine two", "notes_version": 0},
    )
    world.api(
        "coach", "POST", f"/partnerships/{world.studio.pid}/next-steps",
        {"text": "Count to five", "meeting_id": mid, "goal_id": world.goal_id},
    )  # fmt: skip
    world.api(
        "coach", "POST", f"/clips/{world.clip_id}/comments", {"body": "Said live", "t_start": 5}
    )
    world.api(
        "coach", "POST", f"/clips/{world.clip_id}/comments",
        {"body": "Coach's own note", "t_start": 6, "private": True},
    )  # fmt: skip
    teacher, coach = page_client(world, "teacher"), page_client(world, "coach")
    ended = post_form(teacher, f"/meetings/{mid}/end", follow_redirects=True)
    assert "Here is what you agreed" in ended.text
    for text in ("Count to five", "Goal: Wait time", "Line one\nLine two", "Said live", "Cole"):
        assert text in ended.text
    assert "own note" not in ended.text  # someone else's private note
    assert "own note" in coach.get(f"/meetings/{mid}").text  # its author sees it
    assert f"/meetings/{mid}" in coach.get(f"/clips/{world.clip_id}").text  # reachable later
    home = coach.get(f"/partnerships/{world.studio.pid}").text
    assert "Under way:" not in home and f"/meetings/{mid}" in home
