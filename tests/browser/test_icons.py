"""In a real browser: icons are inline SVG, never emoji (an empty box where no emoji font
is installed), and every page has a favicon instead of a 404."""

from __future__ import annotations

import re
import unicodedata

from playwright.sync_api import expect

from tests.browser.conftest import Review, signed_in_page


def _emoji(text: str) -> list[str]:
    """Characters drawn from an emoji font: pictographs (So) outside the plain dingbats
    ordinary text fonts carry."""
    return [c for c in text if unicodedata.category(c) == "So" and ord(c) >= 0x1F000]


def test_the_bell_is_an_svg_icon_named_notifications(
    review_factory, eager_server: str, new_page
) -> None:
    review: Review = review_factory()
    page = signed_in_page(new_page, eager_server, review.teacher)
    icons_asked: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda r: (
            "favicon" in r.url
            and icons_asked.append((r.url, r.status, r.headers.get("content-type", "")))
        ),
    )
    page.goto(f"{eager_server}/partnerships/{review.pid}")
    bell = page.get_by_role("link", name=re.compile(r"^Notifications \(\d+\)$"))
    expect(bell).to_be_visible()
    expect(bell.locator("svg[aria-hidden=true]")).to_have_count(1)
    assert _emoji(page.locator(".site-header").inner_text()) == []
    assert _emoji(page.locator("main").inner_text()) == []

    icon = page.locator("link[rel=icon]")
    href = icon.get_attribute("href")
    assert href and href.endswith("favicon.svg")
    answer = page.request.get(eager_server + href)
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert all(status == 200 for _, status, _ in icons_asked), icons_asked
