"""Notifications grouped by clip and person: "Cole left 5 comments on “Fractions lesson”"
once, not five lines; the first words of the latest comments; a reply names its thread;
opening a group marks its notifications read; a constant number of queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.comments.test_comments_api import count_queries
from tests.conftest import post_form, sign_in_as
from tests.notifications.conftest import World
from videocoach import db
from videocoach.accounts.models import User
from videocoach.comments.models import Comment
from videocoach.notifications import services
from videocoach.notifications.excerpts import excerpt, plain_text
from videocoach.notifications.grouping import friendly_time, initials
from videocoach.notifications.models import Event, Notification


def groups_of(world: World, who: str) -> list[services.Group]:
    with world.app.app_context():
        return services.list_groups(db.session.get(User, world.ids[who]))


def signed_in(world: World, who: str):
    client = world.app.test_client()
    sign_in_as(client, world.ids[who])
    return client


def test_comments_from_one_person_on_one_clip_are_one_group_newest_first(world: World):
    first = [world.comment("coach", body=f"Coach note {n}") for n in range(3)]
    world.comment("pat", body="From Pat")
    last = [world.comment("coach", body=f"Later note {n}") for n in range(2)]
    groups = groups_of(world, "teacher")
    assert [(g.actor_name, g.count, g.unread_count) for g in groups] == [
        ("Cole", 5, 5),
        ("Pat Peer", 1, 1),
    ]
    coach = groups[0]
    assert coach.text == "Cole left 5 comments on “Fractions lesson”."
    assert coach.excerpts == ["Later note 1", "Later note 0"]  # the latest two
    assert coach.more == 3
    assert coach.newest.notification.comment_id == last[-1]["id"]
    assert first[0]["id"] in {item.notification.comment_id for item in coach.items}
    assert groups[1].text == "Pat Peer commented on your clip “Fractions lesson”."
    assert groups[1].excerpts == ["From Pat"]


def test_the_same_person_on_another_clip_is_another_group(world: World):
    other = world.add_clip(title="Reading groups")
    world.comment("coach")
    world.comment("coach", clip_id=other)
    world.comment("coach")
    groups = groups_of(world, "teacher")
    assert [(g.newest.clip_title, g.count) for g in groups] == [
        ("Fractions lesson", 2),
        ("Reading groups", 1),
    ]


def test_other_events_are_never_grouped(world: World):
    for title in ("One", "Two"):
        clip_id = world.add_clip(visibility="private", title=title)
        world.api("teacher", "PATCH", f"/clips/{clip_id}", {"visibility": "shared"})
    groups = groups_of(world, "coach")
    assert [(g.event, g.count) for g in groups] == [("clip_shared", 1), ("clip_shared", 1)]


def test_a_reply_names_the_thread_and_replies_group_by_thread(world: World):
    asked = world.comment("teacher", body="Was this **too fast** for them? I could not tell")
    other = world.comment("teacher", body="Where should I stand?")
    world.comment("coach", parent_id=asked["id"], body="A little, yes")
    world.comment("coach", parent_id=other["id"], body="By the board")
    newest = world.comment("coach", parent_id=asked["id"], body="Try counting to five")
    groups = groups_of(world, "teacher")
    assert [g.text for g in groups] == [
        "Cole left 2 replies to your comment “Was this too fast for them? I could not…” "
        "on “Fractions lesson”.",
        "Cole replied to your comment “Where should I stand?” on “Fractions lesson”.",
    ]
    assert groups[0].excerpts == ["Try counting to five", "A little, yes"]
    assert groups[0].newest.notification.comment_id == newest["id"]
    # The API says it too, one notification at a time, with the comment's first words.
    items = world.api("teacher", "GET", "/notifications").json["items"]
    assert items[0]["text"] == (
        "Cole replied to your comment “Was this too fast for them? I could not…” "
        "on “Fractions lesson”."
    )
    assert items[0]["excerpt"] == "Try counting to five"


def test_opening_a_group_marks_its_notifications_read_and_no_others(world: World):
    for n in range(3):
        world.comment("coach", body=f"Coach {n}")
    pat = world.comment("pat", body="From Pat")
    asked = world.comment("pat", body="My question")  # Pat's own thread on the teacher's clip
    newest = world.comment("coach", body="Coach newest")
    client = signed_in(world, "teacher")
    page = client.get("/notifications").text
    coach, _pat = groups_of(world, "teacher")
    assert page.count(f'href="/notifications/{coach.id}"') == 1
    assert len(re.findall(r'href="/notifications/[0-9a-f]{32}"', page)) == 2
    assert "4 new" in page and "2 new" in page

    opened = client.get(f"/notifications/{coach.id}")
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/clips/{world.clip_id}#comment-{newest['id']}"
    listed = world.api("teacher", "GET", "/notifications").json
    assert listed["unread"] == 2  # Pat's two stay unread
    unread = {item["comment_id"] for item in listed["items"] if not item["read"]}
    assert unread == {pat["id"], asked["id"]}
    assert [g.unread_count for g in groups_of(world, "teacher")] == [0, 2]

    post_form(client, "/notifications/read")  # "Mark all read" stays
    assert world.api("teacher", "GET", "/notifications").json["unread"] == 0


def test_opening_a_reply_group_leaves_other_threads_unread(world: World):
    first = world.comment("coach", body="First thread")
    second = world.comment("coach", body="Second thread")
    world.comment("teacher", parent_id=first["id"], body="Reply one")
    world.comment("teacher", parent_id=first["id"], body="Reply two")
    world.comment("teacher", parent_id=second["id"], body="Reply three")
    groups = groups_of(world, "coach")
    assert [g.count for g in groups] == [1, 2]
    signed_in(world, "coach").get(f"/notifications/{groups[1].id}")
    assert [g.unread_count for g in groups_of(world, "coach")] == [1, 0]


def test_the_page_shows_the_words_escaped_and_says_when_empty(world: World):
    client = signed_in(world, "teacher")
    empty = client.get("/notifications").text
    assert "Nothing yet" in empty and "Mark all read" not in empty
    world.comment("coach", body="<script>alert(1)</script> **bold** move")
    page = client.get("/notifications").text
    assert "“&lt;script&gt;alert(1)&lt;/script&gt; bold move”" in page
    assert "<script>alert(1)" not in page
    assert "Mark all read" in page and "1 unread" in page


def test_excerpts_are_plain_text_cut_between_words():
    assert plain_text("  **Great** wait\n\ntime, _really_  ") == "Great wait time, really"
    assert excerpt("Short and sweet") == "Short and sweet"
    words = "You waited for three whole seconds before taking an answer, and more hands went up"
    cut = excerpt(words, 40)
    assert cut == "You waited for three whole seconds…"
    assert len(cut) <= 40 and words.startswith(cut[:-1])
    assert excerpt("Wait, " + "a" * 10 + " then", 16) == "Wait, aaaaaaaaa…"
    assert excerpt("x" * 100, 10) == "x" * 9 + "…"  # one long word is cut inside it
    assert excerpt("Well done, " + "y" * 20, 14) == "Well done…"


def test_people_and_times_read_as_people_say_them():
    assert initials("Cole Coach") == "CC"
    assert initials("ada") == "A"
    assert initials("Mary Ann de Vries") == "MV"
    assert initials(None) == "?"
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert friendly_time(datetime(2026, 12, 3, 9, 5, tzinfo=UTC), now) == "Today, 09:05"
    assert friendly_time(datetime(2026, 12, 2, 23, 59, tzinfo=UTC), now) == "Yesterday, 23:59"
    assert friendly_time(datetime(2026, 11, 7, 8, 0, tzinfo=UTC), now) == "7 Nov, 08:00"
    assert friendly_time(datetime(2025, 12, 7, 8, 0, tzinfo=UTC), now) == "7 Dec 2025"


def add_notifications(world: World, count: int) -> None:
    """`count` notifications to the teacher: comments and replies from three people on
    several clips, written straight to the database (quicker than `count` requests)."""
    clips = [world.clip_id, *(world.add_clip(title=f"Lesson {n}") for n in range(3))]
    with world.app.app_context():
        teacher_note = Comment(
            clip_id=world.clip_id, author_id=world.ids["teacher"], t_start_ms=0, body="Mine"
        )
        db.session.add(teacher_note)
        db.session.flush()
        for n in range(count):
            actor = ("coach", "pat", "admin")[n % 3]
            clip_id = clips[n % len(clips)]
            reply = n % 5 == 0 and clip_id == world.clip_id
            comment = Comment(
                clip_id=clip_id,
                author_id=world.ids[actor],
                t_start_ms=n * 100,
                body=f"Comment number {n} with a few words in it",
                parent_id=teacher_note.id if reply else None,
            )
            db.session.add(comment)
            db.session.flush()
            event = Event.REPLY_TO_MY_COMMENT if reply else Event.COMMENT_ON_MY_CLIP
            db.session.add(
                Notification(
                    recipient_id=world.ids["teacher"],
                    event=event.value,
                    partnership_id=world.studio.pid,
                    clip_id=clip_id,
                    comment_id=comment.id,
                    actor_id=world.ids[actor],
                )
            )
        db.session.commit()


def test_the_page_and_the_api_run_a_constant_number_of_queries(world: World):
    client = signed_in(world, "teacher")
    add_notifications(world, 10)
    client.get("/notifications")  # the first use of a session or token records it; then not
    world.api("teacher", "GET", "/notifications")
    few_page = count_queries(world.app, lambda: client.get("/notifications"))
    few_api = count_queries(world.app, lambda: world.api("teacher", "GET", "/notifications"))
    add_notifications(world, 100)
    many_page = count_queries(world.app, lambda: client.get("/notifications"))
    many_api = count_queries(world.app, lambda: world.api("teacher", "GET", "/notifications"))
    assert many_page == few_page
    assert many_api == few_api
    page = client.get("/notifications").text
    rows = page.count('class="notification unread"')
    assert rows == len(groups_of(world, "teacher")) < 30  # 110 notifications, grouped
