"""The partnership home (recent clips, unread counts, changes since my last visit) and the
goals page (evidence across clips, counts by kind, a chart), privacy kept throughout."""

from __future__ import annotations

import re
from datetime import date

from tests.comments.test_comments_api import count_queries
from tests.conftest import sign_in_as
from videocoach import db
from videocoach.clips.models import Clip


def add_clip(pair, title: str, recorded_on: date, who: str = "teacher", shared=True) -> str:
    with pair.app.app_context():
        clip = Clip(
            partnership_id=pair.pid,
            uploaded_by_id=pair.teacher_id if who == "teacher" else pair.coach_id,
            title=title,
            visibility="shared" if shared else "private",
            recorded_on=recorded_on,
            status="ready",
            duration_ms=600_000,
        )
        db.session.add(clip)
        db.session.commit()
        return clip.id


def comment(pair, clip_id: str, who: str = "teacher", **body):
    response = pair.client().post(
        f"/api/v1/clips/{clip_id}/comments",
        json={"body": "x", "t_start": 1, **body},
        headers=pair.headers(who),
    )
    assert response.status_code == 201, response.json
    return response.json["comment"]


def goal(pair, title: str) -> str:
    return (
        pair.client()
        .post(
            f"/api/v1/partnerships/{pair.pid}/goals", json={"title": title}, headers=pair.headers()
        )
        .json["goal"]["id"]
    )


def page(pair, who: str, path: str) -> str:
    client = pair.app.test_client()
    user_id = pair.teacher_id if who == "teacher" else pair.coach_id
    sign_in_as(client, user_id)
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_unread_counts_clear_when_the_clip_is_opened(pair):
    clip_id = add_clip(pair, "Fractions", date(2026, 10, 1))
    comment(pair, clip_id, "coach", body="Lovely opening")
    comment(pair, clip_id, "coach", body="Look at the back row", t_start=5)
    comment(pair, clip_id, "teacher", body="My own note")
    home = page(pair, "teacher", f"/partnerships/{pair.pid}")
    assert "2 unread" in home
    page(pair, "teacher", f"/clips/{clip_id}")
    assert "unread" not in page(pair, "teacher", f"/partnerships/{pair.pid}")


def test_home_says_what_changed_since_my_last_visit(pair):
    page(pair, "teacher", f"/partnerships/{pair.pid}")  # the visit that sets "since"
    first = page(pair, "teacher", f"/partnerships/{pair.pid}")
    assert "Since your last visit" not in first
    clip_id = add_clip(pair, "Coach's demo lesson", date(2026, 10, 2), who="coach")
    comment(pair, clip_id, "coach", body="Watch the wait time")
    gid = goal(pair, "Wait time")
    pair.client().patch(f"/api/v1/goals/{gid}", json={"status": "met"}, headers=pair.headers())
    home = page(pair, "teacher", f"/partnerships/{pair.pid}")
    assert "Since your last visit" in home
    assert "New clip: <a" in home and "Coach&#39;s demo lesson" in home
    assert "1 new comment" in home
    assert "Goal met: Wait time" in home
    assert "Since your last visit" not in page(pair, "teacher", f"/partnerships/{pair.pid}")


def test_private_clips_and_notes_never_show_up_for_the_partner(pair):
    page(pair, "coach", f"/partnerships/{pair.pid}")
    private_clip = add_clip(pair, "Rehearsal, just for me", date(2026, 10, 3), shared=False)
    comment(pair, private_clip, "teacher", body="note")
    shared = add_clip(pair, "Shared lesson", date(2026, 10, 4))
    comment(pair, shared, "teacher", body="secret", private=True)
    home = page(pair, "coach", f"/partnerships/{pair.pid}")
    assert "Rehearsal" not in home
    assert "new comment" not in home  # the only new comments are private or on a private clip
    assert "Shared lesson" in home


def test_goals_page_shows_evidence_in_lesson_order_with_counts_and_a_chart(pair):
    wait_time = goal(pair, "Wait time")
    other = goal(pair, "Transitions")
    october = add_clip(pair, "October lesson", date(2026, 10, 5))
    september = add_clip(pair, "September lesson", date(2026, 9, 20))
    three = comment(pair, october, body="Three seconds!", kind="strength", goal_ids=[wait_time])
    comment(
        pair, september, body="Rushed answers", kind="suggestion", t_start=30, goal_ids=[wait_time]
    )
    comment(pair, september, body="Early wait", kind="strength", t_start=10, goal_ids=[wait_time])
    comment(
        pair, september, "coach", body="Coach's private hunch", private=True, goal_ids=[wait_time]
    )
    comment(pair, october, body="Lining up", goal_ids=[other])
    html = page(pair, "teacher", f"/partnerships/{pair.pid}/goals")
    section = html.split('id="goal-' + wait_time)[1].split('id="goal-' + other)[0]
    assert (
        section.index("Early wait")
        < section.index("Rushed answers")
        < section.index("Three seconds!")
    )
    assert "3 moments" in section
    assert f'href="/clips/{october}#comment-{three["id"]}"' in section  # it seeks there
    assert "2 strengths" in section and "1 suggestion" in section
    assert "hunch" not in html  # the coach's private note stays the coach's
    assert '<svg class="evidence-chart"' in section
    # The chart says what it shows, and its table holds the numbers lesson by lesson.
    assert "3 moments in 2 lessons from 2026-09-20 to 2026-10-05: 2 strengths, 1 suggestion." in (
        section
    )
    assert section.count('<th scope="row">') == 2
    coach_view = page(pair, "coach", f"/partnerships/{pair.pid}/goals")
    assert "private hunch" in coach_view


def test_goals_page_query_count_does_not_grow_with_evidence(pair):
    gid = goal(pair, "Wait time")
    clip_id = add_clip(pair, "Lesson", date(2026, 10, 1))
    comment(pair, clip_id, body="one", goal_ids=[gid])
    path = f"/partnerships/{pair.pid}/goals"
    few = count_queries(pair.app, lambda: page(pair, "teacher", path))
    for i in range(20):
        other_clip = add_clip(pair, f"Lesson {i}", date(2026, 10, 2))
        comment(pair, other_clip, body=f"more {i}", goal_ids=[gid], kind="question")
    many = count_queries(pair.app, lambda: page(pair, "teacher", path))
    assert few == many


def test_goals_page_shows_the_moment_from_the_storyboard(studio, media_samples):
    gid = goal(studio, "Wait time")
    clip_id = studio.upload(media_samples["h264_aac.mp4"], visibility="shared").json["clip"]["id"]
    comment(studio, clip_id, body="Right here", t_start=2.5, goal_ids=[gid])
    html = page(studio, "coach", f"/partnerships/{studio.pid}/goals")
    # 2 s per thumbnail, 160 px wide: the moment at 2.5 s is the second frame of sheet 0.
    assert re.search(r'viewBox="160 0 160 \d+"', html)
    sheet = f"/api/v1/clips/{clip_id}/media/storyboard/000.jpg"
    assert sheet in html
    assert studio.get(sheet, "coach").status_code == 200


def test_goals_page_shows_comment_formatting_and_never_markup(pair):
    gid = goal(pair, "Questions")
    clip_id = add_clip(pair, "Lesson", date(2026, 10, 1))
    comment(pair, clip_id, body="**Great** question <script>alert(1)</script>", goal_ids=[gid])
    html = page(pair, "teacher", f"/partnerships/{pair.pid}/goals")
    assert "<strong>Great</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_home_shows_recent_activity_newest_first_and_keeps_privacy(pair):
    shared = add_clip(pair, "Shared lesson", date(2026, 10, 1))
    add_clip(pair, "Rehearsal", date(2026, 10, 2), shared=False)
    nice = comment(pair, shared, "coach", body="Nice")
    comment(pair, shared, body="Private thought", private=True)
    gid = goal(pair, "Wait time")
    pair.client().patch(f"/api/v1/goals/{gid}", json={"status": "met"}, headers=pair.headers())
    html = page(pair, "coach", f"/partnerships/{pair.pid}")
    activity = html.split('id="activity-heading"')[1].split("</section>")[0]
    events = ("Goal met: Wait time", "Cole commented on", "uploaded")
    positions = [activity.index(text) for text in events]
    assert positions == sorted(positions)  # newest first
    assert "Rehearsal" not in activity  # the teacher's private clip
    assert activity.count("commented on") == 1  # the private note is not activity for others
    assert f'commented on <a href="/clips/{shared}#comment-{nice["id"]}">' in activity
