from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import TestResponse

from tests.conftest import Api
from videocoach import db
from videocoach.db import utcnow
from videocoach.partnerships.models import Invitation


def token_of(accept_url: str) -> str:
    return parse_qs(urlsplit(accept_url).query)["token"][0]


def invite(api: Api, pid: str, email: str, role: str = "teacher") -> TestResponse:
    """`api`'s user invites `email` into partnership `pid` (most tests only need the link)."""
    return api.post(f"/api/v1/partnerships/{pid}/invitations", json={"email": email, "role": role})


def accept(api: Api, accept_url: str) -> TestResponse:
    """`api`'s user accepts the invitation behind `accept_url`, sending its token."""
    return api.post("/api/v1/invitations/accept", json={"token": token_of(accept_url)})


@pytest.fixture
def pair(make_user, api_for):
    """A teacher who created a partnership, and a coach who accepted an invitation to it."""
    teacher = make_user(name="Tess Teacher", email="tess@school.example")
    coach = make_user(name="Cole Coach", email="cole@school.example")
    teacher_api, coach_api = api_for(teacher), api_for(coach)
    created = teacher_api.post(
        "/api/v1/partnerships", json={"name": "Tess + Cole", "role": "teacher"}
    )
    pid = created.json["partnership"]["id"]
    invitation = invite(teacher_api, pid, coach.email, "coach")
    accepted = accept(coach_api, invitation.json["accept_url"])
    assert accepted.status_code == 200
    return {"pid": pid, "teacher": teacher, "coach": coach, "t": teacher_api, "c": coach_api}


def test_create_and_list_partnerships(make_user, api_for):
    user = make_user()
    api = api_for(user)
    created = api.post("/api/v1/partnerships", json={"name": "  Year 7 science ", "role": "coach"})
    assert created.status_code == 201
    partnership = created.json["partnership"]
    assert partnership["name"] == "Year 7 science"
    assert partnership["members"] == [
        {"user": {"id": user.id, "email": user.email, "name": user.name}, "role": "coach"}
    ]
    listed = api.get("/api/v1/partnerships")
    assert [p["id"] for p in listed.json["items"]] == [partnership["id"]]
    fetched = api.get(f"/api/v1/partnerships/{partnership['id']}")
    assert fetched.json["partnership"] == partnership


def test_create_partnership_validates_role_and_name(make_user, api_for):
    api = api_for(make_user())
    bad_role = api.post("/api/v1/partnerships", json={"name": "X", "role": "principal"})
    assert bad_role.status_code == 422
    assert "role" in bad_role.json["error"]["fields"]
    no_name = api.post("/api/v1/partnerships", json={"name": "  ", "role": "coach"})
    assert no_name.status_code == 422
    assert "name" in no_name.json["error"]["fields"]


def test_invitation_response_and_acceptance(pair):
    partnership = pair["t"].get(f"/api/v1/partnerships/{pair['pid']}").json["partnership"]
    roles = {m["user"]["email"]: m["role"] for m in partnership["members"]}
    assert roles == {"tess@school.example": "teacher", "cole@school.example": "coach"}
    # the coach now sees the partnership in their list
    assert [p["id"] for p in pair["c"].get("/api/v1/partnerships").json["items"]] == [pair["pid"]]


def test_invitation_shape(pair, make_user):
    response = invite(pair["t"], pair["pid"], "New.Person@School.example")
    assert response.status_code == 201
    body = response.json
    assert set(body) >= {"id", "email", "role", "expires_at", "accept_url"}
    assert body["email"] == "new.person@school.example"
    assert body["accept_url"].startswith("http")
    assert token_of(body["accept_url"])


def test_reused_invitation_is_404(pair, make_user, api_for):
    newcomer = make_user(email="nina@school.example")
    link = invite(pair["t"], pair["pid"], newcomer.email).json["accept_url"]
    api = api_for(newcomer)
    first = accept(api, link)
    assert first.status_code == 200
    # remove and try the same link again: single use
    pair["t"].delete(f"/api/v1/partnerships/{pair['pid']}/members/{newcomer.id}")
    again = accept(api, link)
    assert again.status_code == 404


def test_expired_invitation_is_404(app, pair, make_user, api_for):
    newcomer = make_user(email="old@school.example")
    body = invite(pair["t"], pair["pid"], newcomer.email).json
    with app.app_context():
        invitation = db.session.get(Invitation, body["id"])
        invitation.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = accept(api_for(newcomer), body["accept_url"])
    assert response.status_code == 404
    assert "expired" in response.json["error"]["message"]


def test_unknown_invitation_token_is_404(make_user, api_for):
    response = api_for(make_user()).post("/api/v1/invitations/accept", json={"token": "nope"})
    assert response.status_code == 404


def test_invitation_for_another_address_is_refused_and_stays_usable(pair, make_user, api_for):
    invited = make_user(email="invited@school.example")
    someone_else = make_user(email="someone@school.example")
    link = invite(pair["t"], pair["pid"], invited.email).json["accept_url"]
    wrong = accept(api_for(someone_else), link)
    assert wrong.status_code == 403
    assert wrong.json["error"]["code"] == "wrong_account"
    assert api_for(someone_else).get(f"/api/v1/partnerships/{pair['pid']}").status_code == 404
    right = accept(api_for(invited), link)
    assert right.status_code == 200


def test_inviting_a_member_again_is_409(pair):
    response = invite(pair["t"], pair["pid"], "COLE@school.example", "coach")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "already_member"


def test_member_accepting_a_second_invitation_gets_409(pair, make_user, api_for):
    newcomer = make_user(email="twice@school.example")
    links = [invite(pair["t"], pair["pid"], newcomer.email).json["accept_url"] for _ in range(2)]
    api = api_for(newcomer)
    assert accept(api, links[0]).status_code == 200
    again = accept(api, links[1])
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_member"


def test_remove_member_and_leave(pair, make_user, api_for):
    remove = pair["t"].delete(f"/api/v1/partnerships/{pair['pid']}/members/{pair['coach'].id}")
    assert remove.status_code == 204
    assert pair["c"].get(f"/api/v1/partnerships/{pair['pid']}").status_code == 404
    last = pair["t"].delete(f"/api/v1/partnerships/{pair['pid']}/members/{pair['teacher'].id}")
    assert last.status_code == 409
    assert last.json["error"]["code"] == "last_member"


def test_outsider_cannot_remove_members_or_invite(pair, make_user, api_for):
    outsider = api_for(make_user())
    pid = pair["pid"]
    assert (
        outsider.delete(f"/api/v1/partnerships/{pid}/members/{pair['coach'].id}").status_code == 404
    )
    invited = invite(outsider, pid, "x@school.example", "coach")
    assert invited.status_code == 404
    assert pair["t"].get(f"/api/v1/partnerships/{pid}").json["partnership"]["members"][1]


def test_goal_lifecycle(pair):
    pid = pair["pid"]
    created = pair["t"].post(
        f"/api/v1/partnerships/{pid}/goals",
        json={
            "title": "Increase wait time after questions",
            "description": "Students need time to think.",
            "success_criteria": "3+ seconds after most questions",
        },
    )
    assert created.status_code == 201
    goal = created.json["goal"]
    assert {k: goal[k] for k in ("partnership_id", "status", "title")} == {
        "partnership_id": pid,
        "status": "active",
        "title": "Increase wait time after questions",
    }
    assert set(goal) >= {"id", "description", "success_criteria", "created_at"}
    gid = goal["id"]
    # the coach sees it and can edit it
    assert pair["c"].get(f"/api/v1/goals/{gid}").json["goal"]["id"] == gid
    edited = pair["c"].patch(f"/api/v1/goals/{gid}", json={"success_criteria": "4 seconds"})
    assert edited.status_code == 200
    assert edited.json["goal"]["success_criteria"] == "4 seconds"
    met = pair["t"].patch(f"/api/v1/goals/{gid}", json={"status": "met"})
    assert met.json["goal"]["status"] == "met" and met.json["goal"]["met_at"]
    listed = pair["t"].get(f"/api/v1/partnerships/{pid}/goals").json["items"]
    assert [g["id"] for g in listed] == [gid]
    only_active = pair["t"].get(f"/api/v1/partnerships/{pid}/goals?status=active").json["items"]
    assert only_active == []
    assert pair["t"].delete(f"/api/v1/goals/{gid}").status_code == 204
    assert pair["t"].get(f"/api/v1/goals/{gid}").status_code == 404


def test_goal_validation(pair):
    pid = pair["pid"]
    empty = pair["t"].post(f"/api/v1/partnerships/{pid}/goals", json={"title": "  "})
    assert empty.status_code == 422 and "title" in empty.json["error"]["fields"]
    missing = pair["t"].post(f"/api/v1/partnerships/{pid}/goals", json={})
    assert missing.status_code == 422 and "title" in missing.json["error"]["fields"]
    gid = (
        pair["t"].post(f"/api/v1/partnerships/{pid}/goals", json={"title": "Ok"}).json["goal"]["id"]
    )
    bad_status = pair["t"].patch(f"/api/v1/goals/{gid}", json={"status": "done"})
    assert bad_status.status_code == 422 and "status" in bad_status.json["error"]["fields"]


def test_partnership_content_is_invisible_to_outsiders_and_admins(pair, make_user, api_for):
    gid = (
        pair["t"]
        .post(f"/api/v1/partnerships/{pair['pid']}/goals", json={"title": "Private goal"})
        .json["goal"]["id"]
    )
    for user in (make_user(), make_user(admin=True)):
        api = api_for(user)
        assert api.get("/api/v1/partnerships").json["items"] == []
        for path in (
            f"/api/v1/partnerships/{pair['pid']}",
            f"/api/v1/partnerships/{pair['pid']}/goals",
            f"/api/v1/goals/{gid}",
        ):
            response = api.get(path)
            assert response.status_code == 404, path
            assert "Private goal" not in response.get_data(as_text=True)
        assert api.patch(f"/api/v1/goals/{gid}", json={"title": "x"}).status_code == 404
        assert api.delete(f"/api/v1/goals/{gid}").status_code == 404


def test_two_partnerships_of_one_coach_stay_separate(make_user, api_for):
    coach = make_user()
    api = api_for(coach)
    first = api.post("/api/v1/partnerships", json={"name": "With Ana", "role": "coach"}).json
    second = api.post("/api/v1/partnerships", json={"name": "With Ben", "role": "coach"}).json
    pid1, pid2 = first["partnership"]["id"], second["partnership"]["id"]
    api.post(f"/api/v1/partnerships/{pid1}/goals", json={"title": "Ana's goal"})
    titles = [g["title"] for g in api.get(f"/api/v1/partnerships/{pid2}/goals").json["items"]]
    assert titles == []
    names = sorted(p["name"] for p in api.get("/api/v1/partnerships").json["items"])
    assert names == ["With Ana", "With Ben"]
