"""The clip page costs a constant number of SQL queries however many comments the clip has:
review.js loads the comments from the API, the page itself embeds only the goals."""

from __future__ import annotations

from tests.comments.test_comments_api import count_queries, post
from tests.conftest import PASSWORD, post_form
from videocoach import db
from videocoach.accounts.models import User


def signed_in_client(studio, user_id: str):
    client = studio.client()
    with studio.app.app_context():
        email = db.session.get(User, user_id).email
    response = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def test_clip_page_runs_a_constant_number_of_queries(review):
    client = signed_in_client(review, review.teacher_id)
    url = f"/clips/{review.clip_id}"

    def get_page():
        response = client.get(url)
        assert response.status_code == 200
        return response

    for i in range(3):
        post(review, "coach", body=f"c{i}", t_start=1, goal_ids=[review.goal_id])
    get_page()  # warm-up: the first visit also records that the clip was seen
    few = count_queries(review.app, get_page)
    for i in range(40):
        post(review, body=f"more {i}", t_start=2, goal_ids=[review.goal_id], kind="question")
    many = count_queries(review.app, get_page)
    assert few == many

    page = get_page().get_data(as_text=True)
    assert "more 39" not in page  # comments come from the API, not the page
    assert 'id="goals-data"' in page and "Wait time" in page
    assert '<meta name="csrf-token"' in page
