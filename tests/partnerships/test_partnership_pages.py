"""Partnership pages as browsers use them: invitations, members, goals, and who sees what."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

from sqlalchemy import select

from tests.conftest import PASSWORD, error_next_to, post_form, post_login
from videocoach import db
from videocoach.partnerships.models import Goal, GoalStatus, Membership

INVITE_LINK_INPUT = r'<input id="invite-link-{iid}"[^>]*readonly value="([^"]+)"'
CREATE_ACCOUNT_LINK = re.compile(r'<a class="button primary" href="([^"]+)">Create account</a>')
GOAL_EDIT_LINK = re.compile(r'href="/goals/([^"/]+)/edit"')
CANCEL_INVITATION_ACTION = re.compile(r'action="(/partnerships/[^"/]+/invitations/[^"/]+/cancel)"')
SCRIPT = "<script>alert(1)</script>"


def local(url: str) -> str:
    """Path and query of an absolute link, for the test client."""
    parts = urlsplit(unescape(url))
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def page(browser, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def start_partnership(browser, name: str = "Ana and Ben, 2025", role: str = "teacher") -> str:
    response = post_form(browser, "/partnerships", {"name": name, "role": role})
    assert response.status_code == 302
    return response.headers["Location"].rsplit("/", 1)[1]


def invite(browser, pid: str, email: str, role: str = "coach") -> str:
    """Invite through the partnership page; returns the link the inviter is shown."""
    response = post_form(
        browser, f"/partnerships/{pid}/invitations", {"email": email, "role": role}
    )
    assert response.status_code == 302
    _path, _, iid = response.headers["Location"].partition("#invitation-")
    return shown_link(browser, pid, iid)


def shown_link(browser, pid: str, iid: str) -> str:
    """The link the partnership page shows for invitation `iid`, to copy."""
    shown = page(browser, f"/partnerships/{pid}")
    return local(re.search(INVITE_LINK_INPUT.format(iid=iid), shown).group(1))


def join(browser_for, inviter, pid: str, user, role: str = "coach") -> None:
    """`user` joins `pid` by accepting an invitation from `inviter`."""
    link = invite(inviter, pid, user.email, role)
    accepted = post_form(browser_for(user), link)
    assert accepted.status_code == 302


def submit_goal_form(browser, pid: str, path: str, fields: dict[str, str]) -> str:
    """Post a goal form, check it lands back on the partnership's goals, and return that page:
    every goal change ends the same way."""
    response = post_form(browser, path, fields)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/partnerships/{pid}#goals"
    return page(browser, f"/partnerships/{pid}")


def add_goal(browser, pid: str, title: str = "More wait time after questions", **more: str) -> str:
    response = post_form(browser, f"/partnerships/{pid}/goals", {"title": title, **more})
    assert response.status_code == 302
    return GOAL_EDIT_LINK.findall(page(browser, f"/partnerships/{pid}"))[-1]


def goal_status(app, gid: str) -> str:
    with app.app_context():
        return db.session.get(Goal, gid).status


# The whole flow


def test_teacher_invites_a_coach_who_signs_up_from_the_link_and_joins(app):
    teacher = app.test_client()
    signed_up = post_form(
        teacher,
        "/signup",
        {"name": "Ana Lima", "email": "ana@school.example", "password": PASSWORD},
    )
    assert signed_up.status_code == 302  # to sign in: sign-up signs nobody in by itself
    assert post_login(teacher, "ana@school.example").status_code == 302
    assert "Start a partnership" in page(teacher, "/partnerships")

    pid = start_partnership(teacher, "Ana, year 7 science", role="teacher")
    detail = page(teacher, f"/partnerships/{pid}")
    assert "You are the teacher" in detail
    assert "Partnership created" in detail

    link = invite(teacher, pid, "Ben@School.example", role="coach")
    assert link.startswith("/invitations/accept?token=")
    waiting = page(teacher, f"/partnerships/{pid}")
    assert "Waiting for an answer" in waiting and "ben@school.example" in waiting

    coach = app.test_client()
    invitation = page(coach, link)
    assert "Ana Lima" in invitation and "Ana, year 7 science" in invitation
    assert "sign in or create an account with ben@school.example" in invitation
    signup_link = unescape(CREATE_ACCOUNT_LINK.search(invitation).group(1))
    signup_page = page(coach, signup_link)
    assert 'value="ben@school.example"' in signup_page  # the invited address, filled in

    created = post_form(
        coach,
        signup_link,
        {"name": "Ben Okafor", "email": "ben@school.example", "password": PASSWORD},
    )
    assert created.status_code == 302
    assert created.headers["Location"] == link
    accept_page = page(coach, link)
    assert "Accept invitation" in accept_page

    accepted = post_form(coach, link)
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == f"/partnerships/{pid}"
    coach_view = page(coach, f"/partnerships/{pid}")
    assert "You joined Ana, year 7 science" in coach_view
    assert "You are the coach" in coach_view
    assert "Ana Lima" in coach_view and "Ben Okafor" in coach_view

    teacher_view = page(teacher, f"/partnerships/{pid}")
    assert "Ben Okafor" in teacher_view
    assert "Waiting for an answer" not in teacher_view
    cards = page(teacher, "/partnerships")
    assert '<span class="partner-name">Ben Okafor</span> <span class="muted">coach</span>' in cards
    assert '<span class="partner-name">Ana Lima</span> <span class="muted">teacher</span>' in page(
        coach, "/partnerships"
    )

    # The link worked once.
    assert post_form(coach, link).status_code == 404
    assert app.test_client().get(link).status_code == 404


def test_invitee_who_already_has_an_account_signs_in_from_the_link(app, make_user, browser_for):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    coach_user = make_user(email="ben@school.example", name="Ben Okafor")
    link = invite(teacher, pid, coach_user.email)

    coach = app.test_client()
    login = post_login(coach, "ben@school.example", query_string={"next": link})
    assert login.headers["Location"] == link
    assert post_form(coach, link).headers["Location"] == f"/partnerships/{pid}"


def test_accepting_while_signed_out_asks_you_to_sign_in(app, make_user, browser_for):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    link = invite(teacher, pid, "ben@school.example")
    anonymous = app.test_client()
    response = post_form(anonymous, link)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_invitation_for_another_address_is_refused(app, make_user, browser_for):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    link = invite(teacher, pid, "ben@school.example")
    intruder = browser_for(make_user(email="eve@school.example"))
    shown = page(intruder, link)
    assert "This invitation is for ben@school.example" in shown
    response = post_form(intruder, link)
    assert response.status_code == 200
    assert "signed in as eve@school.example" in response.get_data(as_text=True)
    assert intruder.get(f"/partnerships/{pid}").status_code == 404
    assert app.test_client().get(link).status_code == 200  # still open for Ben


def test_unknown_invitation_token_is_404(client):
    assert client.get("/invitations/accept?token=made-up").status_code == 404
    assert client.get("/invitations/accept").status_code == 404


def test_invite_errors_are_shown_next_to_the_field(make_user, browser_for):
    member = make_user(email="ben@school.example")
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    bad = post_form(teacher, f"/partnerships/{pid}/invitations", {"email": "nope", "role": "coach"})
    assert bad.status_code == 422
    assert error_next_to(bad.get_data(as_text=True), "email")

    join(browser_for, teacher, pid, member)
    again = post_form(
        teacher, f"/partnerships/{pid}/invitations", {"email": member.email, "role": "coach"}
    )
    assert again.status_code == 422
    assert error_next_to(again.get_data(as_text=True), "email") == "Already a member."


def test_partnership_form_needs_a_name_and_a_role(browser_for, make_user):
    browser = browser_for(make_user())
    response = post_form(browser, "/partnerships", {"name": "", "role": "principal"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_next_to(html, "name") == "Give the partnership a name."
    assert error_next_to(html, "role")


def test_cancelled_invitation_link_stops_working(app, make_user, browser_for):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher)
    link = invite(teacher, pid, "ben@school.example")
    cancel = CANCEL_INVITATION_ACTION.search(page(teacher, f"/partnerships/{pid}")).group(1)
    assert post_form(teacher, cancel).status_code == 302
    assert "Invitation withdrawn" in page(teacher, f"/partnerships/{pid}")
    assert app.test_client().get(link).status_code == 404


# Goals


def test_member_adds_a_goal_with_its_description_and_success_criteria(browser_for, make_user):
    browser = browser_for(make_user())
    pid = start_partnership(browser)
    html = submit_goal_form(
        browser,
        pid,
        f"/partnerships/{pid}/goals",
        {
            "title": "More wait time after questions",
            "description": "Quieter students rarely get to answer.",
            "success_criteria": "Three seconds of silence before taking an answer.",
        },
    )
    assert "Goal added" in html
    assert "More wait time after questions" in html
    assert "Quieter students rarely get to answer." in html
    assert "Three seconds of silence before taking an answer." in html


def test_goal_without_a_title_shows_the_error_next_to_the_title(app, browser_for, make_user):
    browser = browser_for(make_user())
    pid = start_partnership(browser)
    response = post_form(
        browser, f"/partnerships/{pid}/goals", {"title": "  ", "description": "Kept"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_next_to(html, "title") == "Give the goal a title."
    assert error_next_to(html, "email") == ""  # the invite form on the same page is untouched
    assert "<details open>" in html  # the goal form stays open, with what was typed
    assert "\nKept</textarea>" in html
    with app.app_context():
        assert db.session.scalars(select(Goal)).first() is None


def test_member_edits_a_goal(app, browser_for, make_user):
    browser = browser_for(make_user())
    pid = start_partnership(browser)
    gid = add_goal(browser, pid, "Wait time")
    form = page(browser, f"/goals/{gid}/edit")
    assert 'value="Wait time"' in form

    html = submit_goal_form(
        browser,
        pid,
        f"/goals/{gid}/edit",
        {
            "title": "Wait time after every question",
            "description": "For everyone",
            "success_criteria": "Counted on the video",
        },
    )
    assert "Goal saved" in html
    assert "Wait time after every question" in html and "Counted on the video" in html

    empty = post_form(browser, f"/goals/{gid}/edit", {"title": ""})
    assert empty.status_code == 422
    assert error_next_to(empty.get_data(as_text=True), "title") == "Give the goal a title."
    with app.app_context():
        assert db.session.get(Goal, gid).title == "Wait time after every question"


def test_goal_can_be_marked_met_archived_and_made_active_again(app, browser_for, make_user):
    browser = browser_for(make_user())
    pid = start_partnership(browser)
    gid = add_goal(browser, pid)

    steps = [
        (GoalStatus.MET, "Goal marked as met"),
        (GoalStatus.ARCHIVED, "Goal archived"),
        (GoalStatus.ACTIVE, "Goal is active again"),
    ]
    for status, message in steps:
        html = submit_goal_form(browser, pid, f"/goals/{gid}/status", {"status": status.value})
        assert message in html
        assert f"goal status-{status.value}" in html
        assert goal_status(app, gid) == status.value
        with app.app_context():
            met_at = db.session.get(Goal, gid).met_at
        assert (met_at is not None) == (status == GoalStatus.MET)

    bad = post_form(browser, f"/goals/{gid}/status", {"status": "deleted"})
    assert bad.status_code == 422
    assert goal_status(app, gid) == GoalStatus.ACTIVE.value


def test_goal_title_with_markup_is_shown_escaped(browser_for, make_user):
    browser = browser_for(make_user())
    pid = start_partnership(browser, name=f"Ana {SCRIPT}")
    gid = add_goal(browser, pid, SCRIPT, description=SCRIPT, success_criteria=SCRIPT)
    for path in (f"/partnerships/{pid}", f"/goals/{gid}/edit", "/partnerships"):
        html = page(browser, path)
        assert SCRIPT not in html, path  # (the page's own scripts come from /static)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


# Members


def test_member_removes_another_member(app, browser_for, make_user):
    teacher = browser_for(make_user(name="Ana Lima"))
    coach_user = make_user(name="Ben Okafor")
    pid = start_partnership(teacher)
    join(browser_for, teacher, pid, coach_user)
    coach = browser_for(coach_user)
    assert "Ben Okafor" in page(teacher, f"/partnerships/{pid}")

    removed = post_form(teacher, f"/partnerships/{pid}/members/{coach_user.id}/remove")
    assert removed.status_code == 302
    html = page(teacher, f"/partnerships/{pid}")
    assert "Member removed" in html and "Ben Okafor" not in html
    assert coach.get(f"/partnerships/{pid}").status_code == 404
    assert "Ana Lima" not in page(coach, "/partnerships")


def test_member_leaves_a_partnership(app, browser_for, make_user):
    teacher_user = make_user(name="Ana Lima")
    teacher = browser_for(teacher_user)
    coach_user = make_user(name="Ben Okafor")
    pid = start_partnership(teacher)
    join(browser_for, teacher, pid, coach_user)
    coach = browser_for(coach_user)

    left = post_form(coach, f"/partnerships/{pid}/members/{coach_user.id}/remove")
    assert left.status_code == 302
    assert left.headers["Location"] == "/partnerships"
    assert "You left the partnership" in page(coach, "/partnerships")
    assert coach.get(f"/partnerships/{pid}").status_code == 404
    assert "Ben Okafor" not in page(teacher, f"/partnerships/{pid}")

    # The last member cannot leave: a partnership is never left empty.
    last = post_form(teacher, f"/partnerships/{pid}/members/{teacher_user.id}/remove")
    assert last.status_code == 302
    assert "You are the last member" in page(teacher, f"/partnerships/{pid}")
    with app.app_context():
        assert db.session.scalars(select(Membership)).one().user_id == teacher_user.id


# Who sees what


def test_outsider_gets_404_for_every_partnership_page_and_form(app, browser_for, make_user):
    teacher_user = make_user()
    teacher = browser_for(teacher_user)
    pid = start_partnership(teacher, "Private partnership")
    gid = add_goal(teacher, pid, "Private goal")
    invite(teacher, pid, "ben@school.example")
    cancel = CANCEL_INVITATION_ACTION.search(page(teacher, f"/partnerships/{pid}")).group(1)

    outsider = browser_for(make_user())
    assert outsider.get(f"/partnerships/{pid}").status_code == 404
    assert outsider.get(f"/goals/{gid}/edit").status_code == 404
    forms = {
        f"/partnerships/{pid}/invitations": {"email": "eve@school.example", "role": "coach"},
        cancel: {},
        f"/partnerships/{pid}/members/{teacher_user.id}/remove": {},
        f"/partnerships/{pid}/goals": {"title": "Sneaky goal"},
        f"/goals/{gid}/edit": {"title": "Defaced"},
        f"/goals/{gid}/status": {"status": "archived"},
    }
    for path, data in forms.items():
        response = post_form(outsider, path, data)
        assert response.status_code == 404, path
        assert "Private" not in response.get_data(as_text=True), path
    assert "Private partnership" not in page(outsider, "/partnerships")

    html = page(teacher, f"/partnerships/{pid}")
    assert "Private goal" in html and "Sneaky goal" not in html
    assert "eve@school.example" not in html and "ben@school.example" in html
    assert goal_status(app, gid) == GoalStatus.ACTIVE.value


def test_site_admin_manages_accounts_but_cannot_see_partnerships(browser_for, make_user):
    teacher = browser_for(make_user())
    pid = start_partnership(teacher, "Private partnership")
    gid = add_goal(teacher, pid)

    admin = browser_for(make_user(admin=True))
    assert admin.get(f"/partnerships/{pid}").status_code == 404
    assert admin.get(f"/goals/{gid}/edit").status_code == 404
    assert post_form(admin, f"/partnerships/{pid}/goals", {"title": "x"}).status_code == 404
    assert "Private partnership" not in page(admin, "/partnerships")
    assert "Accounts" in page(admin, "/admin/users")

    assert teacher.get("/admin/users").status_code == 404
    assert "/admin/users" not in page(teacher, "/partnerships")


def test_signed_out_visitor_is_sent_to_sign_in(client):
    for path in ("/partnerships", "/partnerships/abc", "/goals/abc/edit", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
