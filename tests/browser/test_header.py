"""In a real browser: the site header stays one line at every width (it wrapped to three
lines on a 390 px phone), and the account links live in a <details id="account-menu"> that
opens and signs out without JavaScript and closes on Escape or a click elsewhere with it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_screenshots import assert_fits

WIDTHS = {"desktop": (1440, 900), "tablet": (820, 1180), "phone": (390, 844), "small": (320, 640)}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_header_is_one_line_at_every_width(
    live_server: str, make_user, new_page, width: str
) -> None:
    user = make_user("Bartholomew Featherstonehaugh", admin=True)
    page = new_page(viewport=WIDTHS[width])
    sign_in(page, live_server, user)
    page.goto(f"{live_server}/account")
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] < 70, header  # one row of 44 px targets
    tops = page.evaluate(
        "[...document.querySelectorAll('.site-nav > *')].map((e) => e.getBoundingClientRect()"
        ".top + e.getBoundingClientRect().height / 2)"
    )
    assert max(tops) - min(tops) < 4, tops  # every item on the same line
    assert_fits(page, f"/account at {width}")
    bell = page.get_by_role("link", name=re.compile(r"^Notifications \(0\)$"))
    expect(bell).to_be_visible()


def test_the_account_menu_opens_closes_on_escape_and_outside_and_signs_out(
    live_server: str, make_user, new_page
) -> None:
    user = make_user("Tess Teacher")
    page = new_page(viewport=(390, 844))
    sign_in(page, live_server, user)
    menu = page.locator("#account-menu")
    summary = menu.locator("summary")
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_hidden()

    summary.click()
    expect(sign_out).to_be_visible()
    expect(page.get_by_role("link", name="Your account")).to_be_visible()
    page.keyboard.press("Escape")
    expect(sign_out).to_be_hidden()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"

    page.keyboard.press("Enter")  # the keyboard opens it too
    expect(sign_out).to_be_visible()
    page.mouse.click(10, 600)  # a click elsewhere closes it
    expect(sign_out).to_be_hidden()

    summary.click()
    with page.expect_navigation():
        sign_out.click()
    page.goto(f"{live_server}/account")
    assert "/login" in page.url


def test_without_javascript_the_menu_still_opens_and_signs_out(
    live_server: str, make_user, browser
) -> None:
    user = make_user("Tess Teacher", admin=True)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 820, "height": 1180}
    )
    page = context.new_page()
    sign_in(page, live_server, user)
    page.locator("#account-menu summary").click()
    expect(page.get_by_role("link", name="Accounts")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    page.goto(f"{live_server}/account")
    assert "/login" in page.url
    context.close()
