"""Comments API: times within the clip, goals of the partnership, author-only changes,
private notes, one level of replies, filters, safe bodies, and a constant query count."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.studio import Studio


def post(studio: Studio, who: str = "teacher", **body):
    return studio.client().post(
        f"/api/v1/clips/{studio.clip_id}/comments", json=body, headers=studio.headers(who)
    )


def listed(studio: Studio, who: str = "teacher", query: str = "") -> list[dict]:
    response = studio.get(f"/api/v1/clips/{studio.clip_id}/comments{query}", who)
    assert response.status_code == 200
    return response.json["items"]


def test_comment_shape_and_defaults(review):
    response = post(review, body="Nice question at 1.5 s", t_start=1.5, goal_ids=[review.goal_id])
    assert response.status_code == 201
    comment = response.json["comment"]
    assert set(comment) >= {
        "id",
        "clip_id",
        "author",
        "body",
        "t_start",
        "t_end",
        "kind",
        "goal_ids",
        "parent_id",
        "private",
        "resolved",
        "created_at",
        "edited_at",
    }
    assert comment["kind"] == "note" and comment["t_start"] == 1.5 and comment["t_end"] is None
    assert comment["goal_ids"] == [review.goal_id]
    assert comment["author"]["id"] == review.teacher_id
    assert (comment["private"], comment["resolved"], comment["edited_at"]) == (False, False, None)


def test_comments_are_sorted_by_time_with_millisecond_precision(review):
    for t in (2.5, 0.25, 1.0005):
        assert post(review, body=f"at {t}", t_start=t).status_code == 201
    assert [c["t_start"] for c in listed(review, "coach")] == [0.25, 1.0, 2.5]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "x", "t_start": -1}, "t_start"),
        ({"body": "x", "t_start": 999}, "t_start"),
        ({"body": "x", "t_start": "soon"}, "t_start"),
        ({"body": "x", "t_start": 2, "t_end": 1}, "t_end"),
        ({"body": "x", "t_start": 1, "t_end": 999}, "t_end"),
        ({"body": "   ", "t_start": 1}, "body"),
        ({"t_start": 1}, "body"),
        ({"body": "x"}, "t_start"),
        ({"body": "x", "t_start": 1, "kind": "praise"}, "kind"),
        ({"body": "x", "t_start": 1, "goal_ids": "g"}, "goal_ids"),
        ({"body": "x", "t_start": 1, "private": "yes"}, "private"),
    ],
)
def test_invalid_comments_are_422_with_the_field(review, body, field):
    response = post(review, **body)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_goals_must_belong_to_the_clips_partnership(review, make_user, api_for):
    other = api_for(make_user())
    pid = other.post("/api/v1/partnerships", json={"name": "Other", "role": "coach"}).json[
        "partnership"
    ]["id"]
    foreign = other.post(f"/api/v1/partnerships/{pid}/goals", json={"title": "Theirs"}).json[
        "goal"
    ]["id"]
    response = post(review, body="x", t_start=1, goal_ids=[review.goal_id, foreign])
    assert response.status_code == 422
    assert "goal_ids" in response.json["error"]["fields"]


def test_range_comment(review):
    comment = post(review, body="The whole transition", t_start=0.5, t_end=2.25).json["comment"]
    assert (comment["t_start"], comment["t_end"]) == (0.5, 2.25)


def test_only_the_author_edits_resolves_or_deletes(review):
    comment = post(review, body="Draft", t_start=1).json["comment"]
    url = f"/api/v1/comments/{comment['id']}"
    client = review.client()
    assert client.patch(url, json={"body": "x"}, headers=review.headers("coach")).status_code == 403
    assert client.delete(url, headers=review.headers("coach")).status_code == 403
    assert (
        client.patch(url, json={"body": "x"}, headers=review.headers("outsider")).status_code == 404
    )
    edited = client.patch(
        url,
        json={"body": "Final", "kind": "strength", "resolved": True, "goal_ids": [review.goal_id]},
        headers=review.headers(),
    ).json["comment"]
    assert (edited["body"], edited["kind"], edited["resolved"]) == ("Final", "strength", True)
    assert edited["goal_ids"] == [review.goal_id] and edited["edited_at"]
    moved = client.patch(url, json={"t_start": 2.0, "t_end": 3.0}, headers=review.headers())
    assert (moved.json["comment"]["t_start"], moved.json["comment"]["t_end"]) == (2.0, 3.0)
    assert client.patch(url, json={"t_end": 0.5}, headers=review.headers()).status_code == 422
    assert client.delete(url, headers=review.headers()).status_code == 204
    assert listed(review) == []
    assert client.patch(url, json={"body": "x"}, headers=review.headers()).status_code == 404


def test_private_notes_are_visible_to_their_author_only(review):
    post(review, body="Note to self", t_start=1, private=True)
    post(review, body="For both of us", t_start=2)
    assert [c["body"] for c in listed(review)] == ["Note to self", "For both of us"]
    assert [c["body"] for c in listed(review, "coach")] == ["For both of us"]
    assert review.get(f"/api/v1/clips/{review.clip_id}/comments", "outsider").status_code == 404


def test_private_clip_comments_stay_private_and_sharing_never_shares_private_notes(
    studio, media_samples
):
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    studio.clip_id = clip_id
    post(studio, body="Self-review note", t_start=1, private=True)
    post(studio, body="Ready to discuss", t_start=2)
    assert studio.get(f"/api/v1/clips/{clip_id}/comments", "coach").status_code == 404
    studio.client().patch(
        f"/api/v1/clips/{clip_id}", json={"visibility": "shared"}, headers=studio.headers()
    )
    assert [c["body"] for c in listed(studio, "coach")] == ["Ready to discuss"]


def test_replies_go_one_level_deep_and_inherit_the_moment(review):
    parent = post(review, body="Why here?", t_start=1.25, kind="question").json["comment"]
    reply = post(review, "coach", body="Because the bell rang", parent_id=parent["id"])
    assert reply.status_code == 201
    assert reply.json["comment"]["t_start"] == 1.25
    assert reply.json["comment"]["parent_id"] == parent["id"]
    deeper = post(review, body="x", parent_id=reply.json["comment"]["id"])
    assert deeper.status_code == 422 and "parent_id" in deeper.json["error"]["fields"]
    unknown = post(review, body="x", parent_id="nope")
    assert unknown.status_code == 422


def test_filters_by_goal_kind_and_author(review):
    post(review, body="a", t_start=1, kind="strength", goal_ids=[review.goal_id])
    post(review, body="b", t_start=2, kind="question")
    post(review, "coach", body="c", t_start=3, kind="strength")
    assert [c["body"] for c in listed(review, query=f"?goal_id={review.goal_id}")] == ["a"]
    assert [c["body"] for c in listed(review, query="?kind=strength")] == ["a", "c"]
    assert [c["body"] for c in listed(review, query=f"?author_id={review.coach_id}")] == ["c"]


def test_markup_in_a_body_is_kept_as_text_and_rendered_safely(review):
    body = "<script>alert(1)</script> **well done** _here_\nsee https://example.org/x"
    comment = post(review, body=body, t_start=1).json["comment"]
    assert comment["body"] == body
    html = comment["body_html"]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>well done</strong>" in html and "<em>here</em>" in html
    assert '<a href="https://example.org/x" rel="noopener noreferrer nofollow">' in html
    assert "<br>" in html
    sneaky = post(review, body='[x](javascript:alert(1)) <a href="javascript:x">y</a>', t_start=1)
    rendered = sneaky.json["comment"]["body_html"]
    assert "<a " not in rendered  # no link at all: the would-be links are shown as text
    assert "&lt;a href=" in rendered


def count_queries(app, action) -> int:
    engine = app.extensions["videocoach.engine"]
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def test_listing_comments_runs_a_constant_number_of_queries(review):
    def list_all():
        return listed(review)

    for i in range(3):
        post(review, body=f"c{i}", t_start=1, goal_ids=[review.goal_id])
    few = count_queries(review.app, list_all)
    for i in range(30):
        post(review, body=f"more {i}", t_start=2, goal_ids=[review.goal_id], kind="suggestion")
    many = count_queries(review.app, list_all)
    assert len(listed(review)) == 33
    assert few == many
