"""In a real browser: links to a moment (/clips/<id>#t=14.0, as on the goals page) seek the
player there, and links to a comment (/clips/<id>#comment-<cid>, as in notifications and
the activity feed) scroll to it, highlight it, focus it and seek to its moment. Seen: both
opened the clip at 0:00."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog, Review, make_lesson_clip, sign_in
from tests.browser.test_failed_clip import teacher_page
from tests.browser.test_upload import PROCESSING_TIMEOUT_MS
from tests.studio import make_studio
from workers import pipeline

CLIP_SECONDS = 20
# Enough comments before the linked one that it starts out of sight.
FILLER_COMMENTS = 25


@pytest.fixture(scope="module")
def twenty_second_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Longer than the moments linked to; small, so it is quick to process."""
    return make_lesson_clip(
        tmp_path_factory.mktemp("browser-links") / "long.mp4", CLIP_SECONDS, size="160x120"
    )


@pytest.fixture
def review(app, eager_app, make_user, api_for, twenty_second_clip) -> Review:
    return Review(app, eager_app, make_user, api_for, twenty_second_clip, visibility="shared")


def wait_for_time(page: Page, t: float) -> None:
    page.wait_for_function(
        "t => { const v = document.getElementById('player');"
        " return v.readyState >= 1 && !v.seeking && Math.abs(v.currentTime - t) < 0.1; }",
        arg=t,
    )


def add_fillers(review: Review) -> None:
    for n in range(FILLER_COMMENTS):
        review.comment(review.coach_api, body=f"Filler {n}", t_start=round(n * 0.5, 1))


def assert_shown_as_linked(page: Page, comment_id: str) -> None:
    target = page.locator(f'li.comment[data-id="{comment_id}"]')
    expect(target).to_be_in_viewport()
    expect(target).to_have_class(re.compile(r"\bis-linked\b"))
    expect(target).to_be_focused()


def test_a_link_to_a_moment_seeks_there(
    eager_server: str, review: Review, new_page, console: ConsoleLog
) -> None:
    page = new_page()
    sign_in(page, eager_server, review.teacher)
    page.goto(f"{eager_server}/clips/{review.cid}#t=14.0")
    wait_for_time(page, 14.0)
    expect(page.locator("#time-display")).to_have_text("0:14 / 0:20")

    # Another moment on the same page (the hash changes, no reload).
    page.evaluate("window.__samePage = true")
    page.evaluate("location.hash = 't=7.5'")
    wait_for_time(page, 7.5)
    assert page.evaluate("window.__samePage") is True
    assert console.problems() == []


def test_a_link_to_a_comment_shows_it_and_seeks_to_its_moment(
    eager_server: str, review: Review, new_page, console: ConsoleLog
) -> None:
    add_fillers(review)
    linked = review.comment(review.coach_api, body="Look at this moment", t_start=16.0)
    page = new_page()
    sign_in(page, eager_server, review.teacher)
    page.goto(f"{eager_server}/clips/{review.cid}#comment-{linked['id']}")
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    assert_shown_as_linked(page, linked["id"])
    wait_for_time(page, 16.0)
    target = page.locator(f'li.comment[data-id="{linked["id"]}"]')
    assert target.evaluate("el => getComputedStyle(el).animationName") == "comment-linked"

    # Another comment, on the same page; for someone who asked for less motion the
    # highlight stays still.
    page.emulate_media(reduced_motion="reduce")
    first = review.comment(review.coach_api, body="Back to the start", t_start=0.2)
    page.reload()  # the new comment is loaded with the page; then the link changes
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    page.evaluate("window.__samePage = true")
    page.evaluate(f"location.hash = 'comment-{first['id']}'")
    assert_shown_as_linked(page, first["id"])
    wait_for_time(page, 0.2)
    expect(page.locator(".comment.is-linked")).to_have_count(1)
    again = page.locator(f'li.comment[data-id="{first["id"]}"]')
    assert again.evaluate("el => getComputedStyle(el).animationName") == "none"
    assert again.evaluate("el => getComputedStyle(el).boxShadow") != "none"
    assert page.evaluate("window.__samePage") is True
    assert console.problems() == []


def test_a_reply_notification_leads_to_the_reply_at_its_moment(
    eager_server: str, review: Review, new_page, console: ConsoleLog
) -> None:
    add_fillers(review)
    mine = review.comment(review.teacher_api, body="Was this too fast?", t_start=15.0)
    reply = review.comment(review.coach_api, body="A little, yes", parent_id=mine["id"])
    page = new_page()
    sign_in(page, eager_server, review.teacher)
    page.goto(f"{eager_server}/notifications")
    with page.expect_navigation(url=f"**/clips/{review.cid}#comment-{reply['id']}"):
        page.get_by_role("link", name="Cole Coach replied to your comment").click()
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    assert_shown_as_linked(page, reply["id"])
    wait_for_time(page, 15.0)
    assert console.problems() == []


def test_a_goal_evidence_link_opens_the_clip_at_the_moment(
    eager_server: str, review: Review, new_page, console: ConsoleLog
) -> None:
    add_fillers(review)
    evidence = review.comment(
        review.coach_api, body="You waited here", t_start=14.0, goal_ids=[review.goal_id]
    )
    page = new_page()
    sign_in(page, eager_server, review.teacher)
    page.goto(f"{eager_server}/partnerships/{review.pid}/goals")
    page.locator(".evidence-list a.moment").first.click()
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    wait_for_time(page, 14.0)
    assert_shown_as_linked(page, evidence["id"])
    assert console.problems() == []


def test_a_link_to_a_moment_of_a_clip_still_processed_seeks_when_it_is_ready(
    queued_app: Flask, queued_server: str, make_user, new_page, phone_clip: Path,
    console: ConsoleLog,
) -> None:  # fmt: skip
    studio = make_studio(queued_app, make_user)
    response = studio.upload(phone_clip, title="Fractions", visibility="shared")
    assert response.status_code == 202, response.json
    clip_id = response.json["clip"]["id"]
    page = teacher_page(new_page, queued_server, studio)
    page.goto(f"{queued_server}/clips/{clip_id}#t=2.0")
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    with queued_app.app_context():
        assert pipeline.process_clip(clip_id)
    expect(page.locator(".clip-status .status-label")).to_have_text(
        "Ready", timeout=PROCESSING_TIMEOUT_MS
    )
    wait_for_time(page, 2.0)
    page.wait_for_timeout(500)  # nothing moves it back afterwards
    wait_for_time(page, 2.0)
    assert console.problems() == []
