"""The partnership home's activity feed groups comments by clip and person ("Cole left 3
comments on Fractions", linking to the newest, with the first words of the latest two),
keeps privacy, and runs a constant number of queries. Seen: one line per comment."""

from __future__ import annotations

from datetime import date

from tests.comments.test_comments_api import count_queries
from tests.conftest import sign_in_as
from tests.partnerships.test_home_and_goals import add_clip, comment, page


def feed(pair, who: str = "teacher") -> str:
    html = page(pair, who, f"/partnerships/{pair.pid}")
    return html.split('id="activity-heading"')[1].split("</section>")[0]


def test_comments_by_one_person_on_one_clip_are_one_line_linking_to_the_newest(pair):
    fractions = add_clip(pair, "Fractions", date(2026, 10, 1))
    reading = add_clip(pair, "Reading", date(2026, 10, 2))
    comment(pair, fractions, "coach", body="First look")
    comment(pair, reading, "coach", body="On reading")
    comment(pair, fractions, "coach", body="Second look at the **back row**")
    newest = comment(pair, fractions, "coach", body="Third: <b>wait</b> longer " + "word " * 30)
    activity = feed(pair)
    assert activity.count("Cole left 3 comments on") == 1
    assert f'left 3 comments on <a href="/clips/{fractions}#comment-{newest["id"]}">' in activity
    assert "“Second look at the back row”" in activity  # plain text
    assert "&lt;b&gt;wait&lt;/b&gt; longer word" in activity and "<b>wait" not in activity
    assert "word word…”" in activity  # cut between words
    assert "First look" not in activity  # only the latest two
    assert "Cole commented on" in activity and "“On reading”" in activity
    positions = [activity.index(text) for text in ("left 3 comments", "commented on")]
    assert positions == sorted(positions)  # the group sits where its newest comment is


def test_the_feed_keeps_private_notes_out_of_a_group_for_others(pair):
    clip_id = add_clip(pair, "Fractions", date(2026, 10, 1))
    comment(pair, clip_id, "teacher", body="Shared thought")
    comment(pair, clip_id, "teacher", body="Private thought", private=True)
    activity = feed(pair, "coach")
    assert "Tess commented on" in activity and "“Shared thought”" in activity
    assert "left 2 comments" not in activity
    assert "Private thought" not in activity
    assert "left 2 comments" in feed(pair, "teacher")  # my own note is in my feed


def test_the_home_page_runs_a_constant_number_of_queries_however_many_comments(pair):
    clip_id = add_clip(pair, "Fractions", date(2026, 10, 1))
    client = pair.app.test_client()
    sign_in_as(client, pair.teacher_id)
    comment(pair, clip_id, "coach", body="One")
    client.get(f"/partnerships/{pair.pid}")
    few = count_queries(pair.app, lambda: client.get(f"/partnerships/{pair.pid}"))
    for n in range(40):
        comment(pair, clip_id, "coach" if n % 2 else "teacher", body=f"Comment {n}")
    many = count_queries(pair.app, lambda: client.get(f"/partnerships/{pair.pid}"))
    assert many == few
