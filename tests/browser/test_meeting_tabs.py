"""One person, more meeting tabs than they may have open (issue #11): the older page
makes way, says why, and stays out of the way until its person asks for it back; the
two pages never push each other out in a loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog, Review, sign_in
from tests.conftest import serving

QUIET_S = 3  # several reconnect delays (retry: 1000 ms, the page's own 2 s)


@pytest.fixture
def capped_server(app, make_app) -> Iterator[str]:
    capped = make_app(VIDEOCOACH_TASKS_EAGER="1", VIDEOCOACH_LIVE_STREAMS_PER_USER="1")
    with serving(capped) as url:
        yield url


def is_live(page: Page) -> None:
    expect(page.locator("#meeting")).to_have_attribute("data-live", "true")
    expect(page.locator("#live-status")).to_have_text("live")
    expect(page.locator("#follow-here")).to_have_count(0)


def stood_aside(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_text("paused")
    expect(page.locator("#driver-text")).to_contain_text("another tab or on another device")
    expect(page.get_by_role("button", name="Follow the meeting on this page")).to_be_visible()


def test_a_newer_tab_takes_over_and_the_older_one_waits_to_be_asked(
    capped_server: str,
    review_factory: Callable[..., Review],
    new_page: Callable[..., Page],
    console: ConsoleLog,
) -> None:
    base = capped_server
    review = review_factory(visibility="shared")
    older, newer = new_page(), new_page()
    sign_in(older, base, review.teacher)
    older.goto(f"{base}/clips/{review.cid}")
    with older.expect_navigation():
        older.get_by_role("button", name="Start a meeting").click()
    is_live(older)

    sign_in(newer, base, review.teacher)
    newer.goto(older.url)
    is_live(newer)
    stood_aside(older)

    time.sleep(QUIET_S)  # no page reconnects by itself...
    is_live(newer)
    stood_aside(older)

    # ...until its person asks: then the roles swap, once.
    older.get_by_role("button", name="Follow the meeting on this page").click()
    is_live(older)
    stood_aside(newer)
    time.sleep(QUIET_S)
    is_live(older)
    stood_aside(newer)
    assert console.problems() == []
