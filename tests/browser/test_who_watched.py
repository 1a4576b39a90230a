"""In a real browser: a partner plays the clip, and its uploader finds them under "Who
watched" on the clip page; the partner's page has no such section."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import ConsoleLog, signed_in_page
from tests.browser.test_accessibility import context_options, report, violations

__all__ = ["context_options"]  # bypasses the CSP so axe can be injected


def test_a_partners_play_shows_in_the_uploaders_who_watched(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review = review_factory(visibility="shared")
    url = f"{eager_server}/clips/{review.cid}"

    coach = signed_in_page(new_page, eager_server, review.coach)
    coach.goto(url)
    expect(coach.locator("#who-watched")).to_have_count(0)
    with coach.expect_response(lambda r: r.url.endswith("/plays")) as beacon:
        coach.locator("#play-toggle").click()
    assert beacon.value.status == 204
    coach.locator("#play-toggle").click()  # pause, play again: still one beacon per page
    coach.locator("#play-toggle").click()

    teacher = signed_in_page(new_page, eager_server, review.teacher)
    teacher.goto(url)
    section = teacher.locator("#who-watched")
    section.locator("summary").focus()
    teacher.keyboard.press("Enter")  # keyboard first: the summary opens it
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Cole Coach")
    expect(rows.first).to_contain_text("played it")
    problems = violations(teacher, "who watched")
    assert not problems, report(problems)

    # The uploader's own play is not listed.
    teacher.locator("#play-toggle").click()
    teacher.reload()
    teacher.locator("#who-watched summary").click()
    expect(teacher.locator("#who-watched tbody tr")).to_have_count(1)
    assert console.problems() == []
