"""In a real browser at phone width: the account page answers where the person is looking
(the error next to the form they sent, the new token), and a reset link used twice says so.

VIDEOCOACH_WRITE_SCREENSHOTS=1 also writes the screenshots docs/security.md shows.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.accounts.test_account_pages import reset_link
from tests.browser.conftest import ConsoleLog, signed_in_page
from tests.conftest import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = (390, 844)
NEW_PASSWORD = "a brand new lesson plan"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    if os.environ.get("VIDEOCOACH_WRITE_SCREENSHOTS"):
        (SCREENSHOTS / name).write_bytes(page.screenshot(full_page=full_page))


def test_account_forms_answer_in_view_on_a_phone(
    queued_server: str, make_user, new_page, console: ConsoleLog
) -> None:
    user = make_user("Tess Teacher")
    desktop = signed_in_page(new_page, queued_server, user, viewport=(1280, 800))
    phone = signed_in_page(new_page, queued_server, user, viewport=PHONE)
    phone.goto(f"{queued_server}/account")
    tokens = phone.locator("#api-tokens")
    # The label reaches its field (a section with the same id used to take it).
    tokens.get_by_label("What is this token for?").fill("Gradebook sync")
    tokens.get_by_label("Your password").fill(PASSWORD)
    tokens.get_by_role("button", name="Create token").click()
    new_token = phone.locator("#new-token")
    expect(new_token).to_have_value(re.compile(r"^vc_"))
    expect(new_token).to_be_in_viewport()  # not two screens below the top of the page
    screenshot(phone, "account-new-token-phone.png")
    desktop.goto(f"{queued_server}/account")  # two sign-ins and a token to show
    screenshot(desktop, "account-page.png", full_page=True)

    password = phone.locator("#change-password")
    password.get_by_label("Current password").fill("not my password")
    password.get_by_label("New password").fill(NEW_PASSWORD)
    password.get_by_role("button", name="Change password").click()
    error = password.locator(".error")
    expect(error).to_have_text("That is not your current password.")
    expect(error).to_be_in_viewport()
    screenshot(phone, "account-wrong-password-phone.png")

    password.get_by_label("Current password").fill(PASSWORD)
    password.get_by_label("New password").fill(NEW_PASSWORD)
    password.get_by_role("button", name="Change password").click()
    done = phone.locator(".flash.success")
    expect(done).to_contain_text("Password changed")
    expect(done).to_be_in_viewport()  # back up at the message, not left at the form

    desktop.goto(f"{queued_server}/account")  # the other device is signed out
    expect(desktop).to_have_url(re.compile(r"/login\?next="))
    assert console.problems(allow=("status of 422",)) == []


def test_a_reset_link_used_twice_gets_a_clear_page(
    queued_server: str, app, make_user, new_page, console: ConsoleLog
) -> None:
    user = make_user("Tess Teacher")
    link = queued_server + reset_link(app, user, used=False)
    page = new_page(viewport=PHONE)
    page.goto(link)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save new password").click()
    expect(page.locator(".flash.success")).to_contain_text("Your password is changed")
    expect(page.get_by_label("Email")).to_have_value(user.email)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()
    screenshot(page, "reset-link-used-phone.png")
    assert console.problems(allow=("status of 404",)) == []
