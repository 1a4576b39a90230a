"""In a real browser: a destructive button asks first, in a <dialog> saying what will happen.
Cancel (focused first) and Escape keep everything and give focus back to the button;
only the dialog's own confirming button does it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog, Review, signed_in_page
from tests.conftest import Api


@dataclass(frozen=True)
class Action:
    """Who presses which button on which page, what the dialog says, and how to tell it
    happened (through the API, not the page)."""

    who: str  # "teacher" | "coach"
    path: Callable[[Review], str]
    button: str
    says: str
    confirm: str
    happened: Callable[[Review], bool]


def _gone(api: Api, path: str) -> bool:
    return api.get(path).status_code == 404


def _meeting_ended(review: Review) -> bool:
    meeting = review.teacher_api.get(f"/api/v1/meetings/{review.mid}").get_json()["meeting"]
    return meeting["ended_at"] is not None


ACTIONS = {
    "delete clip": Action(
        "teacher",
        lambda r: f"/clips/{r.cid}",
        "Delete clip",
        "” with its comments and every file made from it? This cannot be undone.",
        "Delete clip",
        lambda r: _gone(r.teacher_api, f"/api/v1/clips/{r.cid}"),
    ),
    "end meeting": Action(
        "teacher",
        lambda r: f"/meetings/{r.mid}",
        "End meeting",
        "End the meeting for everyone? Notes and next steps are kept.",
        "End meeting",
        _meeting_ended,
    ),
    "leave": Action(
        "coach",
        lambda r: f"/partnerships/{r.pid}",
        "Leave",
        "Leave “Tess + Cole”? You will no longer see its clips, comments or goals",
        "Leave the partnership",
        lambda r: _gone(r.coach_api, f"/api/v1/partnerships/{r.pid}"),
    ),
    "remove member": Action(
        "teacher",
        lambda r: f"/partnerships/{r.pid}",
        "Remove",
        "Remove Cole Coach from “Tess + Cole”? They will no longer see",
        "Remove Cole Coach",
        lambda r: _gone(r.coach_api, f"/api/v1/partnerships/{r.pid}"),
    ),
}


@pytest.fixture
def review(review_factory) -> Review:
    review: Review = review_factory(visibility="shared")
    started = review.teacher_api.post(f"/api/v1/clips/{review.cid}/meetings")
    assert started.status_code == 201, started.get_json()
    review.mid = started.get_json()["meeting"]["id"]  # type: ignore[attr-defined]
    return review


def open_dialog(page: Page, action: Action):
    button = page.locator("main").get_by_role("button", name=action.button, exact=True)
    button.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return button, dialog


@pytest.mark.parametrize("name", list(ACTIONS))
def test_a_destructive_button_asks_first(
    name: str, review: Review, eager_server: str, new_page, console: ConsoleLog
) -> None:
    action = ACTIONS[name]
    user = review.teacher if action.who == "teacher" else review.coach
    page = signed_in_page(new_page, eager_server, user)
    page.goto(eager_server + action.path(review))

    button, dialog = open_dialog(page, action)
    expect(dialog).to_contain_text(action.says)
    cancel = dialog.get_by_role("button", name="Cancel")
    expect(cancel).to_be_focused()
    confirm = dialog.get_by_role("button", name=action.confirm, exact=True)
    expect(confirm).to_have_class("danger")
    assert not action.happened(review), "the first click did it without asking"

    cancel.click()
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    assert not action.happened(review)

    button.press("Enter")  # from the keyboard too; Escape cancels
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    assert not action.happened(review)

    _, dialog = open_dialog(page, action)
    with page.expect_navigation():
        dialog.get_by_role("button", name=action.confirm, exact=True).click()
    assert action.happened(review)
    expect(page.locator(".flash.success")).to_be_visible()
    assert console.problems() == []
