"""Next steps: tied to a goal, with an owner and a due date; open ones on the home and goals
pages until done; members only; validation."""

from __future__ import annotations

from tests.partnerships.test_home_and_goals import goal, page


def steps_api(pair, who="teacher", method="GET", path=None, **body):
    client = pair.client()
    url = path or f"/api/v1/partnerships/{pair.pid}/next-steps"
    return client.open(url, method=method, json=body or None, headers=pair.headers(who))


def test_next_step_lifecycle_through_the_api(pair):
    gid = goal(pair, "Wait time")
    created = steps_api(
        pair,
        method="POST",
        text="Try think-pair-share",
        goal_id=gid,
        owner_id=pair.teacher_id,
        due_on="2026-12-01",
    )
    assert created.status_code == 201
    step = created.json["next_step"]
    assert (step["text"], step["goal_id"], step["due_on"], step["done"]) == (
        "Try think-pair-share",
        gid,
        "2026-12-01",
        False,
    )
    assert step["owner"]["id"] == pair.teacher_id
    assert [s["id"] for s in steps_api(pair, "coach").json["items"]] == [step["id"]]
    done = steps_api(pair, "coach", "PATCH", f"/api/v1/next-steps/{step['id']}", done=True)
    assert done.status_code == 200 and done.json["next_step"]["done"] is True
    assert steps_api(pair).json["items"] == []
    everything = pair.get(f"/api/v1/partnerships/{pair.pid}/next-steps?include_done=true")
    assert len(everything.json["items"]) == 1
    gone = steps_api(pair, method="DELETE", path=f"/api/v1/next-steps/{step['id']}")
    assert gone.status_code == 204


def test_next_step_validation(pair):
    assert steps_api(pair, method="POST", text="  ").status_code == 422
    bad_goal = steps_api(pair, method="POST", text="x", goal_id="nope")
    assert bad_goal.status_code == 422 and "goal_id" in bad_goal.json["error"]["fields"]
    bad_owner = steps_api(pair, method="POST", text="x", owner_id="someone")
    assert "owner_id" in bad_owner.json["error"]["fields"]
    bad_date = steps_api(pair, method="POST", text="x", due_on="next week")
    assert "due_on" in bad_date.json["error"]["fields"]


def test_outsiders_never_see_next_steps(pair):
    step = steps_api(pair, method="POST", text="Private plan").json["next_step"]
    assert steps_api(pair, "outsider").status_code == 404
    patched = steps_api(pair, "outsider", "PATCH", f"/api/v1/next-steps/{step['id']}", done=True)
    assert patched.status_code == 404


def test_open_steps_show_on_home_and_goals_page_until_done(pair):
    gid = goal(pair, "Wait time")
    step = steps_api(pair, method="POST", text="Count to five", goal_id=gid).json["next_step"]
    assert "Count to five" in page(pair, "coach", f"/partnerships/{pair.pid}")
    goals_html = page(pair, "coach", f"/partnerships/{pair.pid}/goals")
    assert "Next steps:" in goals_html and "Count to five" in goals_html
    steps_api(pair, "coach", "PATCH", f"/api/v1/next-steps/{step['id']}", done=True)
    home = page(pair, "teacher", f"/partnerships/{pair.pid}")
    assert "Next step done: Count to five" in home  # in the activity feed
    assert "Nothing open" in home
    assert "Count to five" not in page(pair, "teacher", f"/partnerships/{pair.pid}/goals")
