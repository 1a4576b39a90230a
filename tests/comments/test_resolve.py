"""Resolving a thread: any member who sees it may resolve or reopen it (the coach closes
the teacher's question), and the comment says who did; only its author may change or
delete it otherwise; a reply is resolved with its thread, never on its own."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from tests.comments.test_comments_api import count_queries
from tests.comments.test_private_replies import load_migration
from tests.studio import Studio
from videocoach import db
from videocoach.comments.models import Comment


@pytest.fixture
def thread(pair: Studio) -> Studio:
    """The teacher's shared clip (rows only) with the teacher's question on it."""
    pair.clip_id = pair.add_clip_row()
    return pair


def api(studio: Studio, who: str, method: str, path: str, json: Any = None):
    return studio.client().open(
        f"/api/v1{path}", method=method, json=json, headers=studio.headers(who)
    )


def post(studio: Studio, who: str = "teacher", **body: Any) -> dict[str, Any]:
    response = api(studio, who, "POST", f"/clips/{studio.clip_id}/comments", body)
    assert response.status_code == 201, response.json
    return response.json["comment"]


def listed(studio: Studio, who: str = "teacher") -> dict[str, dict[str, Any]]:
    response = api(studio, who, "GET", f"/clips/{studio.clip_id}/comments")
    assert response.status_code == 200
    return {c["id"]: c for c in response.json["items"]}


def test_the_coach_resolves_the_teachers_question_and_the_teacher_sees_who(thread):
    question = post(thread, body="Was this too fast?", t_start=1, kind="question")
    assert (question["resolved"], question["resolved_by"]) == (False, None)

    resolved = api(thread, "coach", "PATCH", f"/comments/{question['id']}", {"resolved": True})
    assert resolved.status_code == 200, resolved.json
    coach = {"id": thread.coach_id, "name": resolved.json["comment"]["resolved_by"]["name"]}
    assert resolved.json["comment"]["resolved"] is True
    assert resolved.json["comment"]["resolved_by"] == coach  # {id, name}: no email
    # Resolving is not an edit of what the teacher wrote.
    assert resolved.json["comment"]["edited_at"] is None
    seen = listed(thread, "teacher")[question["id"]]
    assert (seen["resolved"], seen["resolved_by"]) == (True, coach)

    reopened = api(thread, "teacher", "PATCH", f"/comments/{question['id']}", {"resolved": False})
    assert reopened.status_code == 200
    assert (reopened.json["comment"]["resolved"], reopened.json["comment"]["resolved_by"]) == (
        False,
        None,
    )
    seen = listed(thread, "coach")[question["id"]]
    assert (seen["resolved"], seen["resolved_by"]) == (False, None)


def test_the_author_resolves_their_own_thread_too(thread):
    question = post(thread, body="Note to us both", t_start=1)
    mine = api(thread, "teacher", "PATCH", f"/comments/{question['id']}", {"resolved": True})
    assert mine.json["comment"]["resolved_by"]["id"] == thread.teacher_id


def test_resolving_again_keeps_who_resolved_it_and_when(thread):
    question = post(thread, body="Was this too fast?", t_start=1)

    def resolved_at():
        with thread.app.app_context():
            return db.session.get(Comment, question["id"]).resolved_at

    api(thread, "coach", "PATCH", f"/comments/{question['id']}", {"resolved": True})
    first = resolved_at()
    again = api(thread, "teacher", "PATCH", f"/comments/{question['id']}", {"resolved": True})
    assert again.status_code == 200
    assert again.json["comment"]["resolved_by"]["id"] == thread.coach_id
    assert first is not None and resolved_at() == first


@pytest.mark.parametrize(
    "changes",
    [
        {"body": "Rewritten by the coach"},
        {"resolved": True, "body": "Rewritten by the coach"},
        {"resolved": True, "kind": "strength"},
        {"goal_ids": []},
        {"t_start": 2},
        {},
    ],
)
def test_a_member_who_is_not_the_author_may_send_resolved_alone(thread, changes):
    question = post(thread, body="Was this too fast?", t_start=1, kind="question")
    refused = api(thread, "coach", "PATCH", f"/comments/{question['id']}", changes)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"
    seen = listed(thread)[question["id"]]
    assert (seen["body"], seen["kind"], seen["resolved"], seen["t_start"]) == (
        "Was this too fast?",
        "question",
        False,
        1.0,
    )


def test_only_the_author_deletes(thread):
    question = post(thread, body="Was this too fast?", t_start=1)
    assert api(thread, "coach", "DELETE", f"/comments/{question['id']}").status_code == 403
    assert question["id"] in listed(thread)


def test_a_reply_is_resolved_with_its_thread_not_on_its_own(thread):
    question = post(thread, body="Was this too fast?", t_start=1)
    answer = post(thread, "coach", body="A little", parent_id=question["id"])
    assert (answer["resolved"], answer["resolved_by"]) == (False, None)
    for who in ("coach", "teacher"):  # its author and the other member alike
        for value in (True, False):
            refused = api(thread, who, "PATCH", f"/comments/{answer['id']}", {"resolved": value})
            assert refused.status_code == 422
            assert "resolved" in refused.json["error"]["fields"]
    # The author still edits the reply.
    edited = api(thread, "coach", "PATCH", f"/comments/{answer['id']}", {"body": "A bit"})
    assert edited.status_code == 200
    api(thread, "coach", "PATCH", f"/comments/{question['id']}", {"resolved": True})
    seen = listed(thread, "teacher")
    assert seen[question["id"]]["resolved"] is True
    assert (seen[answer["id"]]["resolved"], seen[answer["id"]]["resolved_by"]) == (False, None)


def test_resolved_must_be_a_boolean(thread):
    question = post(thread, body="Was this too fast?", t_start=1)
    refused = api(thread, "coach", "PATCH", f"/comments/{question['id']}", {"resolved": "yes"})
    assert refused.status_code == 422 and "resolved" in refused.json["error"]["fields"]


def test_nobody_outside_resolves_and_a_private_note_stays_its_authors(thread):
    question = post(thread, body="Was this too fast?", t_start=1)
    note = post(thread, body="Self-review: I rushed", t_start=2, private=True)
    outsider = api(thread, "outsider", "PATCH", f"/comments/{question['id']}", {"resolved": True})
    assert outsider.status_code == 404
    hidden = api(thread, "coach", "PATCH", f"/comments/{note['id']}", {"resolved": True})
    assert hidden.status_code == 404
    assert not listed(thread)[question["id"]]["resolved"]
    own = api(thread, "teacher", "PATCH", f"/comments/{note['id']}", {"resolved": True})
    assert own.json["comment"]["resolved_by"]["id"] == thread.teacher_id


def test_a_private_clips_comments_are_nobody_elses_to_resolve(thread):
    thread.clip_id = thread.add_clip_row(visibility="private")
    mine = post(thread, body="Before I share it", t_start=1)
    refused = api(thread, "coach", "PATCH", f"/comments/{mine['id']}", {"resolved": True})
    assert refused.status_code == 404


def test_who_resolved_costs_no_query_per_comment(thread):
    def list_all():
        return listed(thread)

    for i in range(3):
        post(thread, body=f"c{i}", t_start=1)
    few = count_queries(thread.app, list_all)
    for i in range(20):
        comment = post(thread, body=f"more {i}", t_start=2)
        who = ("coach", "teacher")[i % 2]
        api(thread, who, "PATCH", f"/comments/{comment['id']}", {"resolved": True})
    many = count_queries(thread.app, list_all)
    assert len(listed(thread)) == 23
    assert few == many


def test_a_deleted_resolvers_thread_stays_resolved_by_nobody_named(thread):
    question = post(thread, body="Was this too fast?", t_start=1)
    api(thread, "coach", "PATCH", f"/comments/{question['id']}", {"resolved": True})
    with thread.app.app_context():
        db.session.execute(
            sa.update(Comment).where(Comment.id == question["id"]).values(resolved_by_id=None)
        )
        db.session.commit()
    seen = listed(thread)[question["id"]]
    assert (seen["resolved"], seen["resolved_by"]) == (True, None)


def test_the_migration_names_the_author_as_resolver_and_unresolves_replies(thread):
    """Before, only the author could resolve, a reply too: the upgrade says so."""
    question = post(thread, body="Was this too fast?", t_start=1)
    answer = post(thread, "coach", body="A little", parent_id=question["id"])
    open_one = post(thread, body="Still open", t_start=2)
    with thread.app.app_context():
        db.session.execute(
            sa.update(Comment)
            .where(Comment.id.in_([question["id"], answer["id"]]))
            .values(resolved_at=sa.func.current_timestamp(), resolved_by_id=None)
        )
        db.session.commit()
    engine = thread.app.extensions["videocoach.engine"]
    with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        load_migration("0017_comment_resolved_by").backfill()
    seen = listed(thread, "coach")
    assert seen[question["id"]]["resolved"] is True
    assert seen[question["id"]]["resolved_by"]["id"] == thread.teacher_id
    assert (seen[answer["id"]]["resolved"], seen[answer["id"]]["resolved_by"]) == (False, None)
    assert (seen[open_one["id"]]["resolved"], seen[open_one["id"]]["resolved_by"]) == (False, None)
