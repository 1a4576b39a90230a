"""In a real browser: the notifications page shows one line per clip and person ("Cole Coach
left 3 comments on “Fractions”") that opens the newest comment, scrolled to and highlighted,
and marks the group read; the page (empty, unread, read) and the partnership home's feed
are axe-clean and fit a 390 px phone. Seen: "Cole Coach commented on your clip…" three times.

VIDEOCOACH_WRITE_SCREENSHOTS=1 also writes docs/screenshots/notifications-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog, Review, signed_in_page
from tests.browser.test_accessibility import FOCUS_STYLE, report, violations
from tests.browser.test_account_page import screenshot
from tests.browser.test_review_links import assert_shown_as_linked

DESKTOP = (1280, 800)
TABLET = (820, 1180)
PHONE = (390, 844)
WIDTHS = {"desktop": DESKTOP, "tablet": TABLET, "phone": PHONE}


@pytest.fixture
def context_options() -> dict[str, object]:
    """axe's injected script tag needs the page's CSP bypassed (as in test_accessibility)."""
    return {"bypass_csp": True}


def coach_comments(review: Review) -> list[dict]:
    """Three comments from the coach, a few seconds apart in the clip, and one long reply."""
    bodies = [
        ("You waited a **full three seconds** here", 0.5),
        ("The back row started talking while you wrote", 1.2),
        ("Lovely: every hand went up after you asked them to talk to a partner first", 2.4),
    ]
    return [review.comment(review.coach_api, body=b, t_start=t) for b, t in bodies]


def assert_fits(page: Page, label: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("document.documentElement.clientWidth")
    assert width <= viewport, f"{label}: {width} px wide in a {viewport} px window"


def test_a_grouped_notification_opens_the_newest_comment_highlighted_and_is_read(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    comments = coach_comments(review)
    page = signed_in_page(new_page, eager_server, review.teacher, viewport=DESKTOP)
    page.goto(f"{eager_server}/notifications")
    unread = page.locator("#unread-heading + .notification-list > li")
    expect(unread).to_have_count(2)  # the coach's comments, and "Your clip … is ready"
    group = unread.first
    expect(group).to_contain_text("Cole Coach left 3 comments on “Fractions”.")
    expect(group.locator(".badge.unread")).to_have_text("3 new")
    expect(group.locator(".notification-excerpts li")).to_have_text(
        [
            "“Lovely: every hand went up after you asked them to talk to a partner first”",
            "“The back row started talking while you wrote”",
        ]
    )
    expect(group).to_contain_text("and 1 more")
    expect(unread.nth(1)).to_contain_text("Your clip “Fractions” is ready to watch.")
    expect(page.locator("#notification-bell .count")).to_have_text("4")

    newest = comments[-1]["id"]
    with page.expect_navigation(url=f"**/clips/{review.cid}#comment-{newest}"):
        page.get_by_role("link", name="Cole Coach left 3 comments").click()
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    assert_shown_as_linked(page, newest)
    expect(page.locator("#notification-bell .count")).to_have_text("1")

    page.goto(f"{eager_server}/notifications")
    expect(unread).to_have_count(1)
    expect(unread.first).to_contain_text("is ready to watch")
    earlier = page.locator("#read-heading + .notification-list > li")
    expect(earlier).to_have_count(1)
    expect(earlier.first).to_contain_text("Cole Coach left 3 comments")
    expect(earlier.locator(".badge.unread")).to_have_count(0)
    assert console.problems() == []


def test_the_whole_row_opens_the_group_and_the_keyboard_reaches_it(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    comments = coach_comments(review)
    newest = f"**/clips/{review.cid}#comment-{comments[-1]['id']}"
    page = signed_in_page(new_page, eager_server, review.teacher, viewport=PHONE)
    page.goto(f"{eager_server}/notifications")
    page.get_by_role("button", name="Mark all read").focus()
    page.keyboard.press("Tab")  # the next stop is the newest group's link
    focused = page.evaluate_handle("document.activeElement")
    style = page.evaluate(FOCUS_STYLE, focused)
    assert style["text"].startswith("Cole Coach left 3 comments"), style
    assert style["rings"] and style["contrast"] >= 3, style
    with page.expect_navigation(url=newest):
        page.keyboard.press("Enter")

    page.goto(f"{eager_server}/notifications")
    box = page.locator(".notification-excerpts li").first.bounding_box()
    assert box is not None
    with page.expect_navigation(url=newest):
        # A tap on the quoted words, where a person would (the link covers its whole row).
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert console.problems() == []


def test_the_notifications_page_is_axe_clean_and_fits_every_width(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    problems: list[str] = []
    signed_in: dict[tuple[str, str], Page] = {}

    def check(state: str, who) -> dict[str, Page]:
        pages = {}
        for name, size in WIDTHS.items():
            if (who.id, name) not in signed_in:
                signed_in[who.id, name] = signed_in_page(new_page, eager_server, who, size)
            page = pages[name] = signed_in[who.id, name]
            page.goto(f"{eager_server}/notifications")
            assert_fits(page, f"{state} at {name} width")
            problems.extend(violations(page, f"notifications, {state}, {name}"))
            screenshot(page, f"notifications-{state}-{name}.png", full_page=True)
        return pages

    pages = check("empty", review.coach)  # the teacher already heard the clip is ready
    expect(pages["phone"].get_by_role("heading", name="Nothing yet")).to_be_visible()

    coach_comments(review)
    mine = review.comment(review.teacher_api, body="Was this too fast for them?", t_start=1.0)
    review.comment(
        review.coach_api,
        body="A little: try counting to five in your head " + "before-you-call-on-anyone" * 3,
        parent_id=mine["id"],
    )
    pages = check("unread", review.teacher)
    expect(pages["phone"].locator(".notification.unread")).to_have_count(3)
    expect(
        pages["phone"].get_by_role("link", name="Cole Coach replied to your comment")
    ).to_be_visible()

    pages["phone"].get_by_role("button", name="Mark all read").click()
    expect(pages["phone"].get_by_text("You are all caught up.")).to_be_visible()
    check("read", review.teacher)
    assert problems == [], report(problems)
    assert console.problems() == []


def test_the_partnership_feed_is_grouped_axe_clean_and_fits_a_phone(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    comments = coach_comments(review)
    review.comment(review.teacher_api, body="Thanks, noted", t_start=2.0)
    problems: list[str] = []
    for name, size in WIDTHS.items():
        page = signed_in_page(new_page, eager_server, review.teacher, viewport=size)
        page.goto(f"{eager_server}/partnerships/{review.pid}")
        feed = page.locator(".activity-feed")
        expect(feed.locator(".kind-comment")).to_have_count(2)
        expect(feed.locator(".kind-comment").first).to_contain_text("Tess Teacher commented on")
        expect(feed).to_contain_text("Cole Coach left 3 comments on Fractions")
        assert_fits(page, f"partnership home at {name} width")
        problems += violations(page, f"partnership home feed, {name}")
        screenshot(page, f"partnership-feed-{name}.png", full_page=True)
    cole = feed.locator(".kind-comment").nth(1)
    with page.expect_navigation(url=f"**/clips/{review.cid}#comment-{comments[-1]['id']}"):
        cole.get_by_role("link").click()
    assert_shown_as_linked(page, comments[-1]["id"])
    assert problems == [], report(problems)
    assert console.problems() == []
