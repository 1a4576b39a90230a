"""In a real browser: threads on the clip review page. Anyone in the partnership resolves a
thread (the coach closes the teacher's question, and the teacher sees who did); a reply has
no Resolve of its own; Edit, Copy link and Delete wait in one lazily built "More" menu that
works from the keyboard; Delete asks in the page's dialog; "Unresolved only" hides a
resolved thread with its replies."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ConsoleLog, Review, sign_in
from tests.browser.test_accessibility import report, violations
from tests.browser.test_review import open_clip
from tests.browser.test_review_actions import item, items, saved_comments, visible_items


@pytest.fixture
def context_options() -> dict[str, object]:
    """axe's script tag needs the CSP bypassed; Copy link is read back from the clipboard."""
    return {"bypass_csp": True, "permissions": ["clipboard-read", "clipboard-write"]}


def reviewing(new_page, base: str, review: Review, user, viewport=(1024, 768)) -> Page:
    page = new_page(viewport=viewport)
    sign_in(page, base, user)
    open_clip(page, base, review)
    # Any window.alert/confirm would be a regression to the browser's own dialogs.
    page.on("dialog", lambda dialog: pytest.fail(f"a browser dialog: {dialog.message}"))
    return page


def more_button(comment: Locator) -> Locator:
    return comment.locator(":scope > .comment-actions > .comment-more")


def test_the_coach_resolves_the_teachers_question_and_the_teacher_sees_who(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    question = review.comment(
        review.teacher_api, body="Was my wait time long enough?", t_start=1.0, kind="question"
    )
    review.comment(review.coach_api, body="Nearly: count to five", parent_id=question["id"])
    coach = reviewing(new_page, eager_server, review, review.coach)

    thread = item(coach, "Was my wait time long enough?")
    reply = thread.locator("ol.replies > li.comment")
    expect(reply.get_by_role("button", name="Resolve")).to_have_count(0)  # the thread's alone
    thread.get_by_role("button", name="Resolve the thread at 0:01").click()
    expect(thread.locator(":scope > .comment-head .resolved-badge")).to_have_text("Resolved by you")
    expect(thread.get_by_role("button", name="Reopen the thread at 0:01")).to_be_focused()
    expect(coach.locator("#review-announce")).to_have_text("Marked as resolved.")
    saved = next(c for c in saved_comments(review) if c["id"] == question["id"])
    assert saved["resolved"] is True and saved["resolved_by"]["id"] == review.coach.id

    teacher = reviewing(new_page, eager_server, review, review.teacher)
    theirs = item(teacher, "Was my wait time long enough?")
    expect(theirs.locator(":scope > .comment-head .resolved-badge")).to_have_text(
        "Resolved by Cole Coach"
    )
    expect(theirs).to_have_class("comment is-question resolved")
    # The teacher can reopen it (any member can), and it is open for the coach too.
    theirs.get_by_role("button", name="Reopen the thread at 0:01").click()
    expect(theirs.locator(".resolved-badge")).to_have_count(0)
    saved = next(c for c in saved_comments(review) if c["id"] == question["id"])
    assert (saved["resolved"], saved["resolved_by"]) == (False, None)
    assert console.problems() == []


def test_the_more_menu_works_from_the_keyboard(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    mine = review.comment(review.teacher_api, body="Mine", t_start=0.5)
    review.comment(review.coach_api, body="The coach's", t_start=1.5)
    page = reviewing(new_page, eager_server, review, review.teacher)
    # Built lazily: no menu at all until one is opened.
    expect(page.locator("#comment-menu")).to_have_count(0)

    button = more_button(item(page, "Mine"))
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-haspopup", "menu")
    button.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="More actions for your comment at 0:00")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    entries = menu.get_by_role("menuitem")
    expect(entries).to_have_text(["Edit", "Copy link", "Delete"])
    expect(entries.nth(0)).to_be_focused()
    for key, at in (("ArrowDown", 1), ("ArrowDown", 2), ("ArrowDown", 0), ("ArrowUp", 2),
                    ("Home", 0), ("End", 2)):  # fmt: skip
        page.keyboard.press(key)
        expect(entries.nth(at)).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#comment-menu")).to_have_count(0)
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()

    # ArrowUp opens it on its last item; Tab leaves it closed behind.
    page.keyboard.press("ArrowUp")
    expect(entries.nth(2)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#comment-menu")).to_have_count(0)
    expect(button).to_have_attribute("aria-expanded", "false")

    # Copy link, by keyboard: the link to the comment on the clip page, and it says so.
    button.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#comment-menu")).to_have_count(0)
    expect(button).to_be_focused()
    expect(page.locator("#review-announce")).to_have_text("Link to the comment copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{eager_server}/clips/{review.cid}#comment-{mine['id']}"

    # One menu element, moved to whichever comment it is opened for; a click outside closes.
    theirs = more_button(item(page, "The coach's"))
    theirs.click()
    expect(page.get_by_role("menuitem")).to_have_text(["Copy link"])
    expect(page.locator("#comment-menu")).to_have_count(1)
    page.locator("#comments-heading").click()
    expect(page.locator("#comment-menu")).to_have_count(0)
    expect(theirs).to_have_attribute("aria-expanded", "false")

    # Edit from the menu opens the inline editor with the focus in it.
    button.click()
    page.get_by_role("menuitem", name="Edit").click()
    expect(item(page, "Mine").get_by_role("textbox", name="Edit comment")).to_be_focused()
    assert console.problems() == []


def test_delete_asks_in_the_pages_dialog(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    review.comment(review.teacher_api, body="First", t_start=0.5)
    gone = review.comment(review.teacher_api, body="Delete me", t_start=1.5)
    review.comment(review.teacher_api, body="Last", t_start=2.5)
    page = reviewing(new_page, eager_server, review, review.teacher)

    button = more_button(item(page, "Delete me"))
    button.click()
    page.get_by_role("menuitem", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete your comment at 0:01? This cannot be undone.")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    expect(dialog.get_by_role("button", name="Delete comment")).to_have_class("danger")
    page.keyboard.press("Escape")  # keeps it, and gives the focus back to More
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    expect(items(page)).to_have_count(3)

    button.click()
    page.get_by_role("menuitem", name="Delete").click()
    dialog.get_by_role("button", name="Delete comment").click()
    expect(items(page)).to_have_count(2)
    expect(page.locator("#comment-count")).to_have_text("(2)")
    # The focus goes on to the next comment rather than being lost with the deleted one.
    expect(item(page, "Last").locator(".comment-time")).to_be_focused()
    assert gone["id"] not in {c["id"] for c in saved_comments(review)}
    assert console.problems() == []


def test_unresolved_only_hides_a_resolved_thread_with_its_replies(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    answered = review.comment(review.teacher_api, body="Answered question", t_start=0.5)
    review.comment(review.coach_api, body="The coach's answer", parent_id=answered["id"])
    review.coach_api.patch(f"/api/v1/comments/{answered['id']}", json={"resolved": True})
    review.comment(review.teacher_api, body="Still open", t_start=1.5)
    later = review.comment(review.teacher_api, body="Resolved here", t_start=2.5)
    review.comment(review.teacher_api, body="A reply of mine", parent_id=later["id"])
    page = reviewing(new_page, eager_server, review, review.coach)
    expect(items(page)).to_have_count(3)

    page.get_by_label("Unresolved only").check()
    # The reply is not resolved on its own, yet it goes with its resolved thread.
    expect(visible_items(page)).to_have_count(2)
    expect(item(page, "Answered question")).to_be_hidden()
    expect(page.get_by_text("The coach's answer")).to_be_hidden()
    expect(page.locator("#comment-count")).to_have_text("(2 of 3)")
    expect(page.locator(f'#timeline-markers .marker[data-id="{answered["id"]}"]')).to_be_hidden()

    # Even with a filter its reply alone would match (the coach's own comments).
    page.get_by_label("Mine").check()
    expect(visible_items(page)).to_have_count(0)
    page.get_by_label("Mine").uncheck()

    # Resolving a thread while the filter is on hides it; the focus stays in the list.
    resolving = item(page, "Resolved here")
    resolving.get_by_role("button", name="Resolve the thread at 0:02").click()
    expect(resolving).to_be_hidden()
    expect(visible_items(page)).to_have_count(1)
    expect(item(page, "Still open").locator(".comment-time")).to_be_focused()
    expect(page.locator("#review-announce")).to_contain_text("hidden while Unresolved only")
    page.get_by_label("Unresolved only").uncheck()
    expect(visible_items(page)).to_have_count(3)
    assert console.problems() == []


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_axe_finds_nothing_with_the_menu_open_and_it_fits(
    eager_server: str, review_factory, new_page, console: ConsoleLog, viewport
) -> None:
    review: Review = review_factory(visibility="shared")
    question = review.comment(review.teacher_api, body="Was this too fast?", t_start=1.0)
    review.comment(review.coach_api, body="A little", parent_id=question["id"])
    review.coach_api.patch(f"/api/v1/comments/{question['id']}", json={"resolved": True})
    page = reviewing(new_page, eager_server, review, review.teacher, viewport=viewport)

    reply = item(page, "Was this too fast?").locator("ol.replies > li.comment")
    reply.get_by_role("button", name="More").click()  # a reply's: the narrowest spot
    expect(page.get_by_role("menu")).to_be_visible()
    problems = violations(page, f"clip review, More menu open at {viewport[0]} px")
    assert problems == [], report(problems)
    # Nothing runs past the page or the comment list sideways.
    widths = page.evaluate(
        """() => {
          const list = document.getElementById("comment-list");
          const menu = document.getElementById("comment-menu").getBoundingClientRect();
          return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                  list: list.scrollWidth - list.clientWidth,
                  left: menu.left, right: menu.right};
        }"""
    )
    assert widths["page"] <= widths["view"], widths
    assert widths["list"] <= 0, widths
    assert widths["left"] >= 0 and widths["right"] <= widths["view"], widths
    assert console.problems() == []


def test_copy_link_shows_the_link_when_the_browser_will_not_copy(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    mine = review.comment(review.teacher_api, body="Mine", t_start=0.5)
    page = new_page()
    # As on a plain-http address: no Clipboard API, and the old copy command refused.
    page.add_init_script(
        "Object.defineProperty(navigator, 'clipboard', {value: undefined});"
        "document.execCommand = () => false;"
    )
    sign_in(page, eager_server, review.teacher)
    open_clip(page, eager_server, review)
    more_button(item(page, "Mine")).click()
    page.get_by_role("menuitem", name="Copy link").click()
    field = item(page, "Mine").get_by_label("Link to this comment")
    expect(field).to_be_focused()
    expect(field).to_have_value(f"{eager_server}/clips/{review.cid}#comment-{mine['id']}")
    assert field.evaluate("(el) => el.selectionEnd - el.selectionStart") == len(field.input_value())
    expect(page.locator("#review-announce")).to_contain_text("copy it with Ctrl+C")
    assert console.problems() == []
