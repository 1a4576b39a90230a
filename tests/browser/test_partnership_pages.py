"""In a real browser: an invitation's link is copied to the clipboard from the partnership
page (or shown selected when the clipboard refuses) and accepts; Resend gives a new link;
Withdraw asks first in the dialog; the "My partnerships" cards show the latest clip and the
counts; the goals chart draws each lesson; every page is axe-clean and fits 390 px.

VIDEOCOACH_WRITE_SCREENSHOTS=1 also writes docs/screenshots/partnership-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog, Review, signed_in_page
from tests.browser.test_accessibility import report, violations
from tests.browser.test_account_page import screenshot
from tests.browser.test_notifications_page import assert_fits

INVITEE = "nina@school.example"
WIDTHS = {"desktop": (1440, 900), "tablet": (820, 1180), "phone": (390, 844)}
REFUSING_CLIPBOARD = """
Object.defineProperty(navigator, "clipboard", { value: {
  writeText: () => Promise.reject(new DOMException("Denied", "NotAllowedError")),
}});
"""


SELECTED_TEXT = """() => {
  const field = document.activeElement;
  return field.value.slice(field.selectionStart, field.selectionEnd);
}"""


@pytest.fixture
def context_options() -> dict[str, object]:
    """The clipboard for Copy link; the page's CSP bypassed for axe's injected script."""
    return {"bypass_csp": True, "permissions": ["clipboard-read", "clipboard-write"]}


def invite_on_the_page(page: Page, base_url: str, pid: str, email: str = INVITEE) -> None:
    page.goto(f"{base_url}/partnerships/{pid}")
    page.get_by_label("Email").fill(email)
    page.get_by_role("radio", name="Coach").check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash.success")).to_contain_text(f"Invitation for {email} sent")


def invitation_row(page: Page, email: str = INVITEE):
    return page.locator(".invitation").filter(has_text=email)


def test_copy_link_puts_the_link_on_the_clipboard_and_it_accepts(
    eager_server: str, review_factory, new_page, make_user, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    page = signed_in_page(new_page, eager_server, review.teacher)
    invite_on_the_page(page, eager_server, review.pid)
    page.reload()  # the link is still there on a later visit
    row = invitation_row(page)
    expect(row).to_contain_text("sent")
    expect(row).to_contain_text("expires")
    field = row.locator("input.copy")
    expect(field).to_be_hidden()  # tucked behind the button while the clipboard works
    row.get_by_role("button", name=f"Copy link for {INVITEE}").click()
    expect(row.locator(".copy-status")).to_contain_text("Link copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == field.input_value()
    assert copied.startswith(f"{eager_server}/invitations/accept?token=")

    nina = make_user("Nina New", email=INVITEE)
    invitee = signed_in_page(new_page, eager_server, nina)
    invitee.goto(copied)
    invitee.get_by_role("button", name="Accept invitation").click()
    expect(invitee.locator(".flash.success")).to_contain_text("You joined Tess + Cole")
    assert console.problems() == []


def test_when_the_clipboard_refuses_the_link_shows_selected_to_copy_by_hand(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    page = signed_in_page(new_page, eager_server, review.teacher)
    invite_on_the_page(page, eager_server, review.pid)
    page.context.add_init_script(REFUSING_CLIPBOARD)
    page.reload()
    row = invitation_row(page)
    row.get_by_role("button", name=f"Copy link for {INVITEE}").click()
    field = row.get_by_label(f"Link for {INVITEE}")
    expect(field).to_be_visible()
    expect(field).to_be_focused()
    expect(row.locator(".copy-status")).to_contain_text("Copy the selected link with Ctrl+C")
    selected = page.evaluate(SELECTED_TEXT)
    assert selected == field.input_value() and "/invitations/accept?token=" in selected
    assert console.problems() == []


def test_resend_gives_a_new_link_and_withdraw_asks_first(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    page = signed_in_page(new_page, eager_server, review.teacher)
    invite_on_the_page(page, eager_server, review.pid)
    old_link = invitation_row(page).locator("input.copy").input_value()
    invitation_row(page).get_by_role("button", name="Resend").click()
    expect(page.locator(".flash.success")).to_contain_text(
        f"Invitation emailed to {INVITEE} again, with a new link"
    )
    new_link = invitation_row(page).locator("input.copy").input_value()
    assert new_link != old_link
    assert page.request.get(old_link).status == 404
    assert page.request.get(new_link).status == 200

    withdraw = invitation_row(page).get_by_role("button", name="Withdraw")
    withdraw.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Withdraw the invitation to {INVITEE}? Its link stops working.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(invitation_row(page)).to_have_count(1)
    withdraw.click()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Withdraw the invitation").click()
    expect(page.locator(".flash.success")).to_contain_text("Invitation withdrawn")
    expect(invitation_row(page)).to_have_count(0)
    assert page.request.get(new_link).status == 404
    assert console.problems() == []


def lived_in(review: Review) -> Review:
    """Comments of every kind tied to the goal, two unread by the teacher, a next step."""
    for body, t, kind in [
        ("You waited four seconds", 0.5, "strength"),
        ("What did the back row hear?", 1.5, "question"),
    ]:
        review.comment(review.coach_api, body=body, t_start=t, kind=kind, goal_ids=[review.goal_id])
    review.comment(
        review.teacher_api, body="Try a partner talk", t_start=2.0, kind="suggestion",
        goal_ids=[review.goal_id],
    )  # fmt: skip
    step = review.teacher_api.post(
        f"/api/v1/partnerships/{review.pid}/next-steps", json={"text": "Plan partner talk"}
    )
    assert step.status_code == 201, step.get_json()
    return review


def test_the_cards_show_the_partner_the_latest_clip_and_the_counts(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review = lived_in(review_factory(visibility="shared", recorded_on="2026-10-02"))
    page = signed_in_page(new_page, eager_server, review.teacher)
    page.goto(f"{eager_server}/partnerships")
    card = page.locator(".partnership-card").filter(has_text="Tess + Cole")
    expect(card.locator(".partner")).to_have_text(["CCCole Coach coach"])
    latest = card.locator(".latest-clip")
    expect(latest).to_contain_text("Fractions")
    expect(latest).to_contain_text("recorded 2026-10-02")
    poster = latest.locator("img")
    expect(poster).to_be_visible()
    assert poster.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(card.locator(".count-unread")).to_contain_text("2 unread comments")
    expect(card.locator(".count-steps")).to_contain_text("1 open next step")
    with page.expect_navigation(url=f"**/clips/{review.cid}"):
        latest.click()
    page.goto(f"{eager_server}/partnerships")
    expect(card.locator(".count-unread")).to_contain_text("0 unread comments")
    assert console.problems() == []


def test_the_goals_chart_draws_each_lesson_with_its_table(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review = lived_in(review_factory(visibility="shared", recorded_on="2026-10-02"))
    page = signed_in_page(new_page, eager_server, review.teacher, viewport=WIDTHS["phone"])
    page.goto(f"{eager_server}/partnerships/{review.pid}/goals")
    figure = page.locator("figure.evidence-figure").first
    chart = figure.get_by_role("img", name="Evidence lesson by lesson", exact=False)
    expect(chart).to_have_accessible_name(
        "Evidence lesson by lesson 3 moments in 1 lesson on 2026-10-02: "
        "1 strength, 1 question, 1 suggestion."
    )
    expect(chart.locator(".lesson rect.segment")).to_have_count(3)
    expect(chart.locator(".total")).to_have_text(["3"])
    box = chart.bounding_box()
    assert box and box["width"] > 250  # fills the phone's card
    figure.get_by_text("The numbers, lesson by lesson").click()
    row = figure.get_by_role("row").nth(1)
    expect(row).to_contain_text("Fractions")
    expect(row.get_by_role("cell")).to_have_text(["1", "1", "1", "3"])
    assert console.problems() == []


def test_the_partnership_pages_are_axe_clean_and_fit_every_width(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review = lived_in(review_factory(visibility="shared", recorded_on="2026-10-02"))
    setup = signed_in_page(new_page, eager_server, review.teacher)
    invite_on_the_page(
        setup, eager_server, review.pid, "a.rather.long.address.for.phones@school.example"
    )
    problems: list[str] = []
    pages = {
        "list": "/partnerships",
        "home": f"/partnerships/{review.pid}",
        "goals": f"/partnerships/{review.pid}/goals",
    }
    for width, size in WIDTHS.items():
        page = signed_in_page(new_page, eager_server, review.teacher, viewport=size)
        for name, path in pages.items():
            page.goto(eager_server + path)
            if name == "goals":
                page.get_by_text("The numbers, lesson by lesson").first.click()
            assert_fits(page, f"{name} at {width} width")
            problems += violations(page, f"{name}, {width}")
            screenshot(page, f"partnership-{name}-{width}.png", full_page=True)
    assert problems == [], report(problems)
    assert console.problems() == []
