"""In two real browsers: when the driver leaves the meeting, the other person sees it and
can take over within a few seconds (issue 13, defect 8: it took about 16 s)."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import Review
from tests.browser.test_meeting import join, meeting_clip, review  # noqa: F401 (fixtures)

# The server finds out that a browser has gone when a write to its stream fails: a
# keep-alive goes out every 2 s, and the second one after the browser left fails.
TAKE_OVER_WITHIN_S = 6.0


def test_when_the_driver_leaves_take_over_appears_within_seconds(
    eager_server: str,
    review: Review,  # noqa: F811
    new_page: Callable[..., Page],
) -> None:
    teacher, coach = new_page((1280, 900)), new_page((1280, 900))
    join(teacher, eager_server, review, review.teacher, start=True)
    join(coach, eager_server, review, review.coach, start=False)
    expect(coach.locator("#driver-text")).to_have_text("Tess Teacher is driving.")
    expect(coach.locator("#take-over")).to_be_hidden()

    left = time.monotonic()
    teacher.close()
    expect(coach.locator("#take-over")).to_be_visible(timeout=TAKE_OVER_WITHIN_S * 1000)
    seen_after = time.monotonic() - left
    expect(coach.locator("#presence")).not_to_contain_text("Tess Teacher")
    assert seen_after < TAKE_OVER_WITHIN_S, seen_after

    coach.get_by_role("button", name="Take over the driving").click()
    expect(coach.locator("#driver-text")).to_contain_text("You are driving")
