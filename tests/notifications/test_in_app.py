"""In-app notifications: the right people, never the actor, outsiders or admins."""

from __future__ import annotations

import re

from tests.conftest import post_form, sign_in_as
from tests.notifications.conftest import World
from videocoach import db
from videocoach.accounts.models import User
from workers import pipeline

NOBODY_ELSE = ("outsider", "admin")


def test_a_comment_notifies_the_uploader_only(world: World):
    world.comment("coach")
    assert world.events("teacher") == [("comment_on_my_clip", "coach", world.clip_id)]
    for who in ("coach", "pat", *NOBODY_ELSE):
        assert world.events(who) == []


def test_the_uploader_commenting_on_their_own_clip_notifies_nobody(world: World):
    world.comment("teacher")
    assert world.total() == 0


def test_a_reply_notifies_the_parent_author_and_the_uploader(world: World):
    parent = world.comment("coach")
    world.comment("pat", parent_id=parent["id"])
    assert world.events("coach") == [("reply_to_my_comment", "pat", world.clip_id)]
    assert world.events("teacher") == [
        ("comment_on_my_clip", "coach", world.clip_id),
        ("comment_on_my_clip", "pat", world.clip_id),
    ]
    assert world.events("pat") == []


def test_replying_in_my_own_thread_on_my_clip_notifies_only_the_other_author(world: World):
    parent = world.comment("coach")
    world.comment("teacher", parent_id=parent["id"])
    world.comment("coach", parent_id=parent["id"])  # the coach answers in their own thread
    assert world.events("coach") == [("reply_to_my_comment", "teacher", world.clip_id)]
    assert [e for e, *_ in world.events("teacher")] == ["comment_on_my_clip"] * 2


def test_private_comments_and_private_clips_notify_nobody(world: World):
    world.comment("coach", private=True)
    private_clip = world.add_clip(visibility="private")
    world.comment("teacher", clip_id=private_clip)
    assert world.total() == 0


def test_a_reply_the_parent_author_cannot_see_notifies_nobody_else(world: World):
    parent = world.comment("coach")
    world.comment("teacher", parent_id=parent["id"], private=True)
    assert world.total() == 1  # only the coach's comment, to the teacher


def test_sharing_a_clip_notifies_the_other_members(world: World):
    clip_id = world.add_clip(visibility="private", title="Reading groups")
    response = world.api("teacher", "PATCH", f"/clips/{clip_id}", {"visibility": "shared"})
    assert response.status_code == 200
    for who in ("coach", "pat"):
        assert world.events(who) == [("clip_shared", "teacher", clip_id)]
    for who in ("teacher", *NOBODY_ELSE):
        assert world.events(who) == []
    # unsharing and renaming tell nobody
    world.api("teacher", "PATCH", f"/clips/{clip_id}", {"visibility": "private"})
    world.api("teacher", "PATCH", f"/clips/{clip_id}", {"title": "Renamed"})
    assert world.total() == 2


def test_sharing_from_the_clip_page_notifies_too(world: World, browser_for):
    clip_id = world.add_clip(visibility="private")
    with world.app.app_context():
        teacher = db.session.get(User, world.ids["teacher"])
    client = world.app.test_client()
    sign_in_as(client, teacher.id)
    response = post_form(client, f"/clips/{clip_id}/visibility", {"visibility": "shared"})
    assert response.status_code == 302
    assert world.events("coach") == [("clip_shared", "teacher", clip_id)]


def test_an_invitation_notifies_an_existing_account_only(world: World):
    with world.app.app_context():
        outsider_email = db.session.get(User, world.ids["outsider"]).email
    for email in (outsider_email, "nobody-yet@school.example"):
        response = world.api(
            "teacher",
            "POST",
            f"/partnerships/{world.studio.pid}/invitations",
            {"email": email, "role": "coach"},
        )
        assert response.status_code == 201
    assert world.events("outsider") == [("invitation", "teacher", None)]
    assert world.total() == 1
    listed = world.api("outsider", "GET", "/notifications").json
    assert listed["unread"] == 1
    assert "invited you to the partnership “Tess + Cole”" in listed["items"][0]["text"]


def test_a_failed_clip_notifies_its_uploader(world: World):
    clip_id = world.add_clip(status="processing", visibility="shared")
    with world.app.app_context():
        pipeline.fail(clip_id, None, "This file is not a video we can read.")
    assert world.events("teacher") == [("clip_failed", None, clip_id)]
    assert world.total() == 1


def test_a_processed_upload_notifies_its_uploader(world: World, media_samples):
    response = world.studio.upload(media_samples["h264_aac.mp4"], visibility="shared")
    assert response.status_code == 202
    clip_id = response.json["clip"]["id"]
    assert world.studio.clip(clip_id)["status"] == "ready"
    assert world.events("teacher") == [("clip_ready", None, clip_id)]
    assert world.total() == 1


def test_losing_sight_of_the_clip_hides_its_notifications(world: World):
    clip_id = world.add_clip(visibility="private")
    world.api("teacher", "PATCH", f"/clips/{clip_id}", {"visibility": "shared"})
    assert world.api("coach", "GET", "/notifications").json["unread"] == 1
    world.api("teacher", "PATCH", f"/clips/{clip_id}", {"visibility": "private"})
    assert world.api("coach", "GET", "/notifications").json == {"items": [], "unread": 0}


def signed_in(world: World, who: str):
    client = world.app.test_client()
    sign_in_as(client, world.ids[who])
    return client


def test_the_bell_and_the_page(world: World):
    client = signed_in(world, "teacher")
    assert 'Notifications (<span class="count">0</span>)' in client.get("/account").text
    world.comment("coach")
    newest = world.comment("pat")
    page = client.get("/partnerships").text
    assert 'Notifications (<span class="count">2</span>)' in page
    listing = client.get("/notifications").text
    assert "Cole commented on your clip “Fractions lesson”" in listing
    assert "Pat Peer commented on your clip" in listing
    links = re.findall(r'href="(/notifications/[0-9a-f]{32})"', listing)
    assert len(links) == 2
    # Someone else's notification does not exist for them; opening mine marks it read.
    assert signed_in(world, "coach").get(links[0]).status_code == 404
    opened = client.get(links[0])
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/clips/{world.clip_id}#comment-{newest['id']}"
    assert 'Notifications (<span class="count">1</span>)' in client.get("/notifications").text
    response = post_form(client, "/notifications/read")
    assert response.status_code == 302
    assert 'Notifications (<span class="count">0</span>)' in client.get("/notifications").text


def test_mark_all_read_needs_the_csrf_token(world: World):
    world.comment("coach")
    client = signed_in(world, "teacher")
    assert client.post("/notifications/read").status_code == 400
    assert world.api("teacher", "GET", "/notifications").json["unread"] == 1


def test_the_api_lists_and_marks_read(world: World):
    first, second = world.comment("coach"), world.comment("pat")
    listed = world.api("teacher", "GET", "/notifications").json
    assert listed["unread"] == 2
    assert [item["comment_id"] for item in listed["items"]] == [second["id"], first["id"]]
    item = listed["items"][1]
    assert item["event"] == "comment_on_my_clip"
    assert item["actor"] == {"id": world.ids["coach"], "name": "Cole"}
    assert item["clip_title"] == "Fractions lesson"
    assert item["url"] == f"/clips/{world.clip_id}#comment-{first['id']}"
    assert item["read"] is False
    # marking someone else's ids does nothing
    theirs = world.api("coach", "POST", "/notifications/read", {"ids": [item["id"]]}).json
    assert theirs == {"marked": 0, "unread": 0}
    mine = world.api("teacher", "POST", "/notifications/read", {"ids": [item["id"]]}).json
    assert mine == {"marked": 1, "unread": 1}
    assert world.api("teacher", "POST", "/notifications/read", {}).json == {
        "marked": 1,
        "unread": 0,
    }
    bad = world.api("teacher", "POST", "/notifications/read", {"ids": "all"})
    assert bad.status_code == 422


def test_a_reply_notification_links_to_the_reply_on_the_clip_page(world: World):
    mine = world.comment("teacher")  # on my own clip: nobody to tell
    reply = world.comment("coach", parent_id=mine["id"])
    items = world.api("teacher", "GET", "/notifications").json["items"]
    assert [(item["event"], item["url"]) for item in items] == [
        ("reply_to_my_comment", f"/clips/{world.clip_id}#comment-{reply['id']}")
    ]


def test_outsiders_never_hear_of_a_partnership(world: World):
    parent = world.comment("coach")
    world.comment("teacher", parent_id=parent["id"])
    clip_id = world.add_clip(visibility="private")
    world.api("teacher", "PATCH", f"/clips/{clip_id}", {"visibility": "shared"})
    with world.app.app_context():
        pipeline.fail(world.add_clip(status="processing"), None, "broken")
    for who in NOBODY_ELSE:
        assert world.events(who) == []
        assert world.api(who, "GET", "/notifications").json == {"items": [], "unread": 0}
