"""Limits on everything a person types (videocoach/limits.py): each field takes exactly its
limit, and one character more is refused with a sentence that states the limit, by the
API (422) and next to the field on the page. Control characters and bidi overrides are
removed before anything is measured or stored. Every test runs on SQLite and PostgreSQL:
PostgreSQL is the one that would refuse a value longer than its column (a 500), or any
NUL character.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import String, select

from tests.conftest import PASSWORD, error_next_to, post_form, sign_in_as
from tests.studio import Studio
from videocoach import db, limits
from videocoach.accounts.models import ApiToken, User
from videocoach.clips.models import Clip, ClipAsset, Upload
from videocoach.comments.models import Comment
from videocoach.media.probe import CAPTION_TITLE_MAX
from videocoach.meetings.models import Meeting
from videocoach.partnerships.models import Goal, Invitation, NextStep, Partnership


def email_of_length(length: int) -> str:
    """A valid address of exactly `length` characters: 64 before the @, labels of at most
    63 after it."""
    local, suffix = "a" * 64, ".example"
    remaining = length - len(local) - 1 - len(suffix)
    labels = []
    while remaining > 63:
        labels.append("b" * 63)
        remaining -= 64
    labels.append("c" * remaining)
    return f"{local}@{'.'.join(labels)}{suffix}"


def password_of_length(length: int) -> str:
    return ("correct horse battery staple " * (length // 29 + 1))[:length]


def new_email() -> str:
    return f"new-{secrets.token_hex(4)}@school.example"


@dataclass
class World:
    """The pair's partnership with a shared clip, a goal, a next step, a comment and a
    running meeting, and the teacher's email (for token requests)."""

    studio: Studio
    email: str
    clip_id: str
    goal_id: str
    step_id: str
    comment_id: str
    meeting_id: str

    @property
    def pid(self) -> str:
        return self.studio.pid

    def api(self, method: str, path: str, json: Any = None, **kwargs: Any):
        return self.studio.client().open(
            f"/api/v1{path}", method=method, json=json, headers=self.studio.headers(), **kwargs
        )

    def browser(self) -> FlaskClient:
        client = self.studio.client()
        sign_in_as(client, self.studio.teacher_id)
        return client

    def notes_version(self) -> int:
        return self.api("GET", f"/meetings/{self.meeting_id}").json["meeting"]["notes_version"]


def created(response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.json
    return response.json


@pytest.fixture
def world(pair: Studio) -> World:
    with pair.app.app_context():
        email = db.session.get(User, pair.teacher_id).email
    clip_id = pair.add_clip_row()
    world = World(pair, email, clip_id, "", "", "", "")
    world.goal_id = created(world.api("POST", f"/partnerships/{pair.pid}/goals", {"title": "G"}))[
        "goal"
    ]["id"]
    world.step_id = created(
        world.api("POST", f"/partnerships/{pair.pid}/next-steps", {"text": "Try wait time"})
    )["next_step"]["id"]
    world.comment_id = created(
        world.api("POST", f"/clips/{clip_id}/comments", {"body": "Nice", "t_start": 1})
    )["comment"]["id"]
    world.meeting_id = created(world.api("POST", f"/clips/{clip_id}/meetings"))["meeting"]["id"]
    return world


def upload_with_title(world: World, title: str):
    return world.studio.client().post(
        f"/api/v1/partnerships/{world.pid}/clips",
        data={"file": (io.BytesIO(b"not processed here"), "lesson.mp4"), "title": title},
        headers=world.studio.headers(),
        content_type="multipart/form-data",
    )


# (what, limit, field in the error, how to send a value)
API_FIELDS: list[tuple[str, int, str, Callable[[World, str], Any]]] = [
    (
        "user name",
        limits.NAME_MAX,
        "name",
        lambda w, v: w.api(
            "POST", "/auth/register", {"email": new_email(), "password": PASSWORD, "name": v}
        ),
    ),
    (
        "user email",
        limits.EMAIL_MAX,
        "email",
        lambda w, v: w.api(
            "POST", "/auth/register", {"email": v, "password": PASSWORD, "name": "N"}
        ),
    ),
    (
        "password",
        limits.PASSWORD_MAX,
        "password",
        lambda w, v: w.api(
            "POST", "/auth/register", {"email": new_email(), "password": v, "name": "N"}
        ),
    ),
    (
        "API token label",
        limits.TOKEN_LABEL_MAX,
        "label",
        lambda w, v: w.api(
            "POST", "/auth/tokens", {"email": w.email, "password": PASSWORD, "label": v}
        ),
    ),
    (
        "partnership name",
        limits.NAME_MAX,
        "name",
        lambda w, v: w.api("POST", "/partnerships", {"name": v, "role": "coach"}),
    ),
    (
        "partnership rename",
        limits.NAME_MAX,
        "name",
        lambda w, v: w.api("PATCH", f"/partnerships/{w.pid}", {"name": v}),
    ),
    (
        "invitation email",
        limits.EMAIL_MAX,
        "email",
        lambda w, v: w.api(
            "POST", f"/partnerships/{w.pid}/invitations", {"email": v, "role": "coach"}
        ),
    ),
    (
        "goal title",
        limits.TITLE_MAX,
        "title",
        lambda w, v: w.api("POST", f"/partnerships/{w.pid}/goals", {"title": v}),
    ),
    (
        "goal title, edited",
        limits.TITLE_MAX,
        "title",
        lambda w, v: w.api("PATCH", f"/goals/{w.goal_id}", {"title": v}),
    ),
    (
        "goal description",
        limits.GOAL_TEXT_MAX,
        "description",
        lambda w, v: w.api(
            "POST", f"/partnerships/{w.pid}/goals", {"title": "G", "description": v}
        ),
    ),
    (
        "goal success criteria, edited",
        limits.GOAL_TEXT_MAX,
        "success_criteria",
        lambda w, v: w.api("PATCH", f"/goals/{w.goal_id}", {"success_criteria": v}),
    ),
    (
        "next step",
        limits.NEXT_STEP_MAX,
        "text",
        lambda w, v: w.api("POST", f"/partnerships/{w.pid}/next-steps", {"text": v}),
    ),
    (
        "next step, edited",
        limits.NEXT_STEP_MAX,
        "text",
        lambda w, v: w.api("PATCH", f"/next-steps/{w.step_id}", {"text": v}),
    ),
    (
        "comment",
        limits.COMMENT_MAX,
        "body",
        lambda w, v: w.api("POST", f"/clips/{w.clip_id}/comments", {"body": v, "t_start": 2}),
    ),
    (
        "comment, edited",
        limits.COMMENT_MAX,
        "body",
        lambda w, v: w.api("PATCH", f"/comments/{w.comment_id}", {"body": v}),
    ),
    (
        "meeting notes",
        limits.NOTES_MAX,
        "notes",
        lambda w, v: w.api(
            "PUT",
            f"/meetings/{w.meeting_id}/notes",
            {"notes": v, "notes_version": w.notes_version()},
        ),
    ),
    (
        "meeting page id",
        limits.CLIENT_ID_MAX,
        "client_id",
        lambda w, v: w.api(
            "PUT", f"/meetings/{w.meeting_id}/playback", {"playing": False, "client_id": v}
        ),
    ),
    (
        "clip title",
        limits.TITLE_MAX,
        "title",
        lambda w, v: w.api("PATCH", f"/clips/{w.clip_id}", {"title": v}),
    ),
    ("clip title, uploaded", limits.TITLE_MAX, "title", upload_with_title),
]


def value_of_length(what: str, length: int) -> str:
    if "email" in what:
        return email_of_length(length)
    if "password" in what:
        return password_of_length(length)
    return "x" * length


@pytest.mark.parametrize(
    ("what", "limit", "field", "send"), API_FIELDS, ids=[row[0] for row in API_FIELDS]
)
def test_api_takes_the_limit_and_refuses_one_more_with_the_limit_in_the_sentence(
    world, what, limit, field, send
):
    taken = send(world, value_of_length(what, limit))
    assert 200 <= taken.status_code < 300, (taken.status_code, taken.json)

    refused = send(world, value_of_length(what, limit + 1))
    assert refused.status_code == 422, (refused.status_code, refused.json)
    error = refused.json["error"]
    assert f"at most {limit:,} characters." in error["message"]
    assert error["fields"][field] == f"Use at most {limit:,} characters."


@pytest.mark.parametrize("length", [201, 10_000, 1_000_000])
def test_an_enormous_title_is_422_never_500(world, length):
    title = "T" * length
    for response in (
        world.api("PATCH", f"/clips/{world.clip_id}", {"title": title}),
        world.api("POST", f"/partnerships/{world.pid}/goals", {"title": title}),
        upload_with_title(world, title),
    ):
        assert response.status_code == 422, response.json
        assert "200 characters" in response.json["error"]["message"]


# --- pages -----------------------------------------------------------------------------------

# (what, limit, field, page, other fields, signed in)
PAGE_FIELDS: list[tuple[str, int, str, str, dict[str, str], bool]] = [
    ("sign-up name", limits.NAME_MAX, "name", "/signup", {"password": PASSWORD}, False),
    (
        "sign-up email",
        limits.EMAIL_MAX,
        "email",
        "/signup",
        {"name": "N", "password": PASSWORD},
        False,
    ),
    ("sign-up password", limits.PASSWORD_MAX, "password", "/signup", {"name": "N"}, False),
    ("token label", limits.TOKEN_LABEL_MAX, "label", "/account", {"password": PASSWORD}, True),
    ("partnership name", limits.NAME_MAX, "name", "/partnerships", {"role": "coach"}, True),
    (
        "invitation email",
        limits.EMAIL_MAX,
        "email",
        "/partnerships/{pid}/invitations",
        {"role": "coach"},
        True,
    ),
    ("goal title", limits.TITLE_MAX, "title", "/partnerships/{pid}/goals", {}, True),
    (
        "goal description",
        limits.GOAL_TEXT_MAX,
        "description",
        "/partnerships/{pid}/goals",
        {"title": "G"},
        True,
    ),
    (
        "goal success criteria, edited",
        limits.GOAL_TEXT_MAX,
        "success_criteria",
        "/goals/{gid}/edit",
        {"title": "G"},
        True,
    ),
]


@pytest.mark.parametrize(
    ("what", "limit", "field", "page", "others", "signed_in"),
    PAGE_FIELDS,
    ids=[row[0] for row in PAGE_FIELDS],
)
def test_page_takes_the_limit_and_shows_the_limit_next_to_the_field(
    world, what, limit, field, page, others, signed_in
):
    path = page.format(pid=world.pid, gid=world.goal_id)

    def submit(value: str):
        client = world.browser() if signed_in else world.studio.client()
        data = {**others, field: value}
        if path == "/signup" and "email" not in data:
            data["email"] = new_email()
        return post_form(client, path, data)

    taken = submit(value_of_length(what, limit))
    assert taken.status_code in (200, 302), taken.get_data(as_text=True)[:2000]
    if taken.status_code == 200:  # the account page shows the new token on itself
        assert error_next_to(taken.get_data(as_text=True), field) == ""

    refused = submit(value_of_length(what, limit + 1))
    assert refused.status_code == 422
    assert error_next_to(refused.get_data(as_text=True), field) == limits.too_long(limit)


def test_next_step_form_says_the_limit(world):
    browser = world.browser()
    path = f"/partnerships/{world.pid}/next-steps"
    taken = post_form(browser, path, {"text": "s" * limits.NEXT_STEP_MAX})
    assert taken.status_code == 302
    refused = post_form(
        browser, path, {"text": "s" * (limits.NEXT_STEP_MAX + 1)}, follow_redirects=True
    )
    assert "The next step can be at most 2,000 characters." in refused.get_data(as_text=True)


def test_email_settings_take_only_the_choices_offered(world):
    browser = world.browser()
    response = post_form(
        browser,
        "/account/notifications",
        {"email_notifications": "x" * 10_000},
        follow_redirects=True,
    )
    assert "Choose immediate, daily or off." in response.get_data(as_text=True)
    with world.studio.app.app_context():
        assert db.session.get(User, world.studio.teacher_id).email_notifications == "immediate"


def _maxlength(html: str, element_id: str) -> int:
    tag = re.search(rf'<(?:input|textarea)\b[^>]*\bid="{element_id}"[^>]*>', html)
    assert tag, f"no #{element_id} on the page"
    found = re.search(r'\bmaxlength="(\d+)"', tag.group(0))
    assert found, f"#{element_id} has no maxlength: {tag.group(0)}"
    return int(found.group(1))


def test_every_text_box_has_the_limit_as_its_maxlength(world):
    anonymous, browser = world.studio.client(), world.browser()
    pages = {
        (anonymous, "/signup"): {
            "name": limits.NAME_MAX,
            "email": limits.EMAIL_MAX,
            "password": limits.PASSWORD_MAX,
        },
        (world.studio.client(), "/login"): {
            "email": limits.EMAIL_MAX,
            "password": limits.PASSWORD_MAX,
        },
        (browser, "/account"): {"label": limits.TOKEN_LABEL_MAX},
        (browser, "/partnerships"): {"name": limits.NAME_MAX},
        (browser, f"/partnerships/{world.pid}"): {
            "title": limits.TITLE_MAX,
            "description": limits.GOAL_TEXT_MAX,
            "success_criteria": limits.GOAL_TEXT_MAX,
            "email": limits.EMAIL_MAX,
            "step-text": limits.NEXT_STEP_MAX,
        },
        (browser, f"/goals/{world.goal_id}/edit"): {
            "title": limits.TITLE_MAX,
            "description": limits.GOAL_TEXT_MAX,
            "success_criteria": limits.GOAL_TEXT_MAX,
        },
        (browser, f"/partnerships/{world.pid}/upload"): {"title": limits.TITLE_MAX},
        (browser, f"/clips/{world.clip_id}"): {
            "composer-body": limits.COMMENT_MAX,
            "new-goal-title": limits.TITLE_MAX,
        },
        (browser, f"/meetings/{world.meeting_id}"): {
            "meeting-notes": limits.NOTES_MAX,
            "step-text": limits.NEXT_STEP_MAX,
        },
    }
    for (client, path), boxes in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        for element_id, limit in boxes.items():
            assert _maxlength(html, element_id) == limit, (path, element_id)


# --- the limits match the columns ------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "limit"),
    [
        (User.name, limits.NAME_MAX),
        (User.email, limits.EMAIL_MAX),
        (ApiToken.label, limits.TOKEN_LABEL_MAX),
        (Partnership.name, limits.NAME_MAX),
        (Invitation.email, limits.EMAIL_MAX),
        (Goal.title, limits.TITLE_MAX),
        (Clip.title, limits.TITLE_MAX),
        (Upload.title, limits.TITLE_MAX),
        (Clip.original_filename, limits.FILENAME_MAX),
        (Upload.filename, limits.FILENAME_MAX),
        (ClipAsset.label, CAPTION_TITLE_MAX),
    ],
    ids=str,
)
def test_each_limit_is_its_columns_length(column, limit):
    assert isinstance(column.type, String)
    assert column.type.length == limit


@pytest.mark.parametrize(
    "column",
    [Goal.description, Goal.success_criteria, NextStep.text, Comment.body, Meeting.notes],
    ids=str,
)
def test_long_texts_have_unbounded_columns_and_limits_of_their_own(column):
    assert getattr(column.type, "length", None) is None


# --- control characters: removed, never stored ---------------------------------------------

HOSTILE = "\u202e\x00Week\x07 3\t\ud800science\x1b\r\n"


def test_control_characters_and_bidi_overrides_are_removed_everywhere(world):
    partnership = created(world.api("POST", "/partnerships", {"name": HOSTILE, "role": "coach"}))
    assert partnership["partnership"]["name"] == "Week 3 science"
    goal = created(
        world.api(
            "POST",
            f"/partnerships/{world.pid}/goals",
            {"title": HOSTILE, "description": "Line 1\r\nLine\x00 2\u202e\x07\r\n"},
        )
    )["goal"]
    assert (goal["title"], goal["description"]) == ("Week 3 science", "Line 1\nLine 2")
    step = created(world.api("POST", f"/partnerships/{world.pid}/next-steps", {"text": HOSTILE}))
    assert step["next_step"]["text"] == "Week 3 science"
    comment = created(
        world.api("POST", f"/clips/{world.clip_id}/comments", {"body": HOSTILE, "t_start": 0})
    )
    assert comment["comment"]["body"] == "Week 3\tscience"
    clip = created(world.api("PATCH", f"/clips/{world.clip_id}", {"title": HOSTILE}))
    assert clip["clip"]["title"] == "Week 3 science"
    notes = created(
        world.api(
            "PUT",
            f"/meetings/{world.meeting_id}/notes",
            {"notes": "Agreed:\x00 wait\u202e time\n", "notes_version": world.notes_version()},
        )
    )
    assert notes["meeting"]["notes"] == "Agreed: wait time\n"  # the end kept: still typing
    user = created(
        world.api(
            "POST", "/auth/register", {"email": new_email(), "password": PASSWORD, "name": HOSTILE}
        )
    )
    assert user["user"]["name"] == "Week 3 science"
    created(
        world.api(
            "POST", "/auth/tokens", {"email": world.email, "password": PASSWORD, "label": HOSTILE}
        )
    )
    with world.studio.app.app_context():
        labels = db.session.scalars(select(ApiToken.label)).all()
    assert "Week 3 science" in labels


def test_a_value_of_nothing_but_control_characters_counts_as_empty(world):
    for response, message in (
        (
            world.api("POST", "/partnerships", {"name": "\x00\u202e\x01", "role": "coach"}),
            "Give the partnership a name.",
        ),
        (
            world.api("POST", f"/partnerships/{world.pid}/goals", {"title": "\x00\t"}),
            "Give the goal a title.",
        ),
        (
            world.api("POST", f"/partnerships/{world.pid}/next-steps", {"text": "\x07"}),
            "Say what the next step is.",
        ),
    ):
        assert response.status_code == 422
        assert response.json["error"]["message"] == message
    unchanged = world.api("PATCH", f"/clips/{world.clip_id}", {"title": "\x00\x01"})
    assert unchanged.json["clip"]["title"] == "Fractions"  # a blank title keeps the old one


def test_a_title_from_a_long_file_name_is_cut_to_fit_not_refused(world):
    response = world.studio.client().post(
        f"/api/v1/partnerships/{world.pid}/clips",
        data={"file": (io.BytesIO(b"not processed here"), "n" * 250 + ".mp4")},
        headers=world.studio.headers(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.json
    clip = response.json["clip"]
    assert clip["title"] == "n" * limits.TITLE_MAX
    assert clip["original_filename"] == "n" * 250 + ".mp4"


# --- the helpers themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("lesson.mp4", "lesson.mp4"),
        ("C:\\Users\\ana\\lesson.mp4", "lesson.mp4"),
        ("/etc/../passwd", "passwd"),
        ("a/b\\c.mov", "c.mov"),
        ("  spaced .mp4  ", "spaced .mp4"),
        ("bad\x00\x1f\x7f\u202e\u2066name.mp4", "badname.mp4"),
        ("..", limits.FILENAME_FALLBACK),
        ("dir/", limits.FILENAME_FALLBACK),
        ("", limits.FILENAME_FALLBACK),
        (None, limits.FILENAME_FALLBACK),
        ("x" * 300 + ".webm", "x" * 250 + ".webm"),
        ("x" * 300, "x" * 255),
        ("x" * 280 + "." + "e" * 30, ("x" * 280 + "." + "e" * 30)[:255]),  # no real extension
    ],
)
def test_clean_filename(raw, cleaned):
    assert limits.clean_filename(raw) == cleaned
    assert len(limits.clean_filename(raw)) <= limits.FILENAME_MAX


def test_one_line_and_multi_line_keep_what_people_can_see():
    joined = "👩\u200d🏫 teacher, \u05e9\u05dc\u05d5\u05dd\u200f"  # ZWJ emoji, Hebrew with RLM
    assert limits.one_line(joined) == joined
    assert limits.multi_line(joined) == joined
    assert limits.one_line("a\r\nb\u2028c") == "a b c"
    assert limits.multi_line("a\r\nb\rc\u2029d\x0be") == "a\nb\nc\nde"
    assert limits.multi_line("  keep  \n", strip=False) == "  keep  \n"


# --- moments: integer milliseconds, bounded even before the duration is known ---------------


def test_a_moment_too_late_for_any_clip_is_422_before_the_duration_is_known(world):
    with world.studio.app.app_context():
        clip = Clip(
            partnership_id=world.pid,
            uploaded_by_id=world.studio.teacher_id,
            title="Still processing",
            visibility="shared",
        )
        db.session.add(clip)
        db.session.commit()
        clip_id = clip.id
    latest = limits.MOMENT_MAX_MS / 1000
    taken = world.api("POST", f"/clips/{clip_id}/comments", {"body": "x", "t_start": latest})
    assert taken.status_code == 201, taken.json
    for moment in (latest + 0.001, 1e12, 1e300):
        response = world.api("POST", f"/clips/{clip_id}/comments", {"body": "x", "t_start": moment})
        assert response.status_code == 422, response.json
        ranged = world.api(
            "POST", f"/clips/{clip_id}/comments", {"body": "x", "t_start": 1, "t_end": moment}
        )
        assert ranged.status_code == 422, ranged.json
    meeting = created(world.api("POST", f"/clips/{clip_id}/meetings"))["meeting"]["id"]
    seek = world.api("PUT", f"/meetings/{meeting}/playback", {"position": 1e12})
    assert seek.status_code == 422, seek.json
    assert world.api("PUT", f"/meetings/{meeting}/playback", {"position": 5}).status_code == 200


def test_a_nul_character_in_an_id_is_refused_not_a_500(studio):
    """PostgreSQL refuses NUL in text: an id with one used to be a 500 there (404 on SQLite)."""
    response = studio.get("/api/v1/clips/a%00b")
    assert response.status_code in (404, 422)
    assert response.json["error"]["code"] in ("not_found", "validation_failed")
