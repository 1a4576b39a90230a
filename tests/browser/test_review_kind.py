"""In a real browser: the composer's kind of comment goes back to Note after posting, and a
reply starts as a Note whatever the composer showed. Seen: after a Strength, the next
comment and even a reply were saved as Strength without anyone choosing it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import ConsoleLog, Review
from tests.browser.test_review_actions import item, reviewing, saved_comments


def saved_kind(review: Review, body: str) -> str:
    return next(c["kind"] for c in saved_comments(review) if c["body"] == body)


def test_the_kind_goes_back_to_note_after_posting_and_replies_start_as_notes(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    page = reviewing(new_page(), eager_server, review, review.teacher)
    body = page.get_by_role("textbox", name="Your comment")
    kind = page.get_by_label("Kind of comment")

    body.fill("Calm voice")
    kind.select_option("strength")
    page.get_by_role("button", name="Post comment").click()
    expect(item(page, "Calm voice")).to_have_count(1)
    assert saved_kind(review, "Calm voice") == "strength"
    expect(kind).to_have_value("note")

    body.fill("Then the bell rang")  # the kind left alone
    page.get_by_role("button", name="Post comment").click()
    expect(item(page, "Then the bell rang")).to_have_count(1)
    assert saved_kind(review, "Then the bell rang") == "note"

    # A reply is a note, whatever the composer showed before it started.
    body.fill("Half written")
    kind.select_option("question")
    item(page, "Calm voice").get_by_role("button", name="Reply to Tess Teacher at 0:00").click()
    expect(kind).to_have_value("note")
    body.fill("Agreed")
    page.get_by_role("button", name="Post reply").click()
    expect(item(page, "Calm voice").locator(".reply")).to_have_count(1)
    assert saved_kind(review, "Agreed") == "note"
    assert console.problems() == []
