"""In a real browser: the goals page shows each goal's evidence, with the moment's frame,
and marking a goal met works from there."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import ConsoleLog, Review, signed_in_page

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "goals-page.png"


def test_goals_page_shows_evidence_and_marks_a_goal_met(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    review.comment(
        review.coach_api,
        body="You waited 4 seconds here.",
        t_start=1.0,
        kind="strength",
        goal_ids=[review.goal_id],
    )
    review.comment(
        review.teacher_api,
        body="Could I ask a follow-up?",
        t_start=2.0,
        kind="question",
        goal_ids=[review.goal_id],
    )
    page = signed_in_page(new_page, eager_server, review.teacher)
    page.goto(f"{eager_server}/partnerships/{review.pid}/goals")
    section = page.locator("section.goal-evidence").first
    expect(section.get_by_role("heading", name="Wait time")).to_be_visible()
    expect(section.locator(".evidence-list li")).to_have_count(2)
    expect(section).to_contain_text("1 strength")
    expect(section).to_contain_text("1 question")
    frame = section.locator("svg.moment-thumb image").first
    sheet = frame.get_attribute("href")
    assert page.request.get(eager_server + sheet).status == 200
    expect(section.locator("svg.evidence-chart")).to_be_visible()
    if os.environ.get("VIDEOCOACH_WRITE_SCREENSHOTS"):
        page.set_viewport_size({"width": 1280, "height": 800})
        SCREENSHOT.write_bytes(page.screenshot())
    section.get_by_role("button", name="Mark met").click()
    expect(page.locator(".flash.success")).to_contain_text("Goal marked as met")
    assert console.problems() == []
