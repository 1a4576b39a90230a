"""An error page on a phone: the reference to quote stays inside its card (its 32
characters have no break point and run past the card at 320 px)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import signed_in_page

PHONE = (320, 640)  # the narrowest phones still in use


def test_a_not_found_page_shows_its_reference_inside_the_card_on_a_phone(
    live_server: str, new_page: Callable[..., Page], make_user
) -> None:
    page = signed_in_page(new_page, live_server, make_user(), viewport=PHONE)
    response = page.goto(f"{live_server}/clips/no-such-clip")
    assert response is not None and response.status == 404
    reference = page.locator("code.reference")
    expect(reference).to_have_text(response.headers["x-request-id"])
    code, card = reference.bounding_box(), page.locator("section.card").bounding_box()
    assert code and card
    assert code["x"] + code["width"] <= card["x"] + card["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
