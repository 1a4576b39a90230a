"""In a real browser: what you do to comments on the clip review page (edit inline,
resolve and reopen, delete, reply, add a goal from the composer), a range made by
Shift-dragging the timeline, the author / unresolved / mine filters, and the player's
keyboard shortcuts. All without a reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ConsoleLog, Review, make_lesson_clip, sign_in
from tests.browser.test_review import SEEK, open_clip

EN_DASH = "\u2013"
FRAME = 1 / 30
LONG_CLIP_SECONDS = 12


def items(page: Page) -> Locator:
    return page.locator("#comment-list > li.comment")


def item(page: Page, text: str) -> Locator:
    """The top-level comment whose own body has `text` (not one of its replies)."""
    return items(page).filter(has=page.locator(":scope > .comment-body", has_text=text))


def visible_items(page: Page) -> Locator:
    return page.locator("#comment-list > li.comment:visible")


def reviewing(page: Page, base: str, review: Review, user) -> Page:
    """`user` signed in on the review's clip page, watched for full reloads."""
    sign_in(page, base, user)
    open_clip(page, base, review)
    same_page(page)
    return page


def same_page(page: Page) -> None:
    page.evaluate("window.__samePage = true")


def assert_same_page(page: Page) -> None:
    assert page.evaluate("window.__samePage") is True, "the page reloaded"


def more(comment: Locator, action: str) -> None:
    """Choose `action` in the comment's own More menu (not one of its replies')."""
    comment.locator(":scope > .comment-actions").get_by_role("button", name="More").click()
    comment.page.get_by_role("menuitem", name=action, exact=True).click()


def saved_comments(review: Review) -> list[dict]:
    return review.teacher_api.get(f"/api/v1/clips/{review.cid}/comments").get_json()["items"]


def test_edit_my_comment_inline(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    mine = review.comment(review.teacher_api, body="First try", t_start=1.0, kind="note")
    review.comment(review.coach_api, body="From the coach", t_start=2.0)
    page = reviewing(new_page(), eager_server, review, review.teacher)
    expect(page.locator("#timeline-markers .marker.is-note")).to_have_count(2)

    own = item(page, "First try")
    more(own, "Edit")
    editor = own.get_by_role("textbox", name="Edit comment")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("First try")
    editor.fill("Second, **better** try")
    own.get_by_label("Kind").select_option("question")
    own.get_by_role("button", name="Save").click()

    edited = item(page, "Second, better try")
    expect(edited.locator(".comment-body strong")).to_have_text("better")
    expect(edited.locator(".kind")).to_have_text("Question")
    expect(edited.locator(".edited")).to_have_text("(edited)")
    expect(edited.locator(".edit-form")).to_have_count(0)
    expect(items(page)).to_have_count(2)
    # The marker changed kind (and so shape and colour) too.
    marker = page.locator(f'#timeline-markers .marker[data-id="{mine["id"]}"]')
    expect(marker).to_have_class("marker is-question")
    expect(page.locator("#timeline-markers .marker.is-note")).to_have_count(1)
    saved = next(c for c in saved_comments(review) if c["id"] == mine["id"])
    assert (saved["body"], saved["kind"]) == ("Second, **better** try", "question")

    # Cancel leaves the comment as it was.
    more(edited, "Edit")
    edited.get_by_role("textbox", name="Edit comment").fill("Thrown away")
    edited.get_by_role("button", name="Cancel").click()
    expect(edited.locator(".comment-body")).to_have_text("Second, better try")
    expect(edited.locator(".edit-form")).to_have_count(0)
    assert_same_page(page)
    assert console.problems() == []


def test_resolve_reopen_and_delete(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    keep = review.comment(review.teacher_api, body="Keep me", t_start=0.5)
    gone = review.comment(review.teacher_api, body="Delete me", t_start=1.5, kind="strength")
    page = reviewing(new_page(), eager_server, review, review.teacher)

    kept = item(page, "Keep me")
    kept.get_by_role("button", name="Resolve").click()
    expect(kept.locator(".resolved-badge")).to_have_text("Resolved by you")
    expect(kept).to_have_class("comment is-note resolved")
    # The focus stays on the button pressed, which now says the opposite.
    expect(kept.get_by_role("button", name="Reopen the thread at 0:00")).to_be_focused()
    assert next(c for c in saved_comments(review) if c["id"] == keep["id"])["resolved"] is True

    kept.get_by_role("button", name="Reopen").click()
    expect(kept.locator(".resolved-badge")).to_have_count(0)
    expect(kept.get_by_role("button", name="Resolve")).to_be_visible()
    assert next(c for c in saved_comments(review) if c["id"] == keep["id"])["resolved"] is False

    # Delete asks first, in the page's own dialog: cancelling keeps the comment, confirming
    # removes it.
    asked = page.get_by_role("dialog", name="Delete your comment at 0:01? This cannot be undone.")
    more(item(page, "Delete me"), "Delete")
    asked.get_by_role("button", name="Cancel").click()
    expect(asked).to_be_hidden()
    expect(items(page)).to_have_count(2)
    more(item(page, "Delete me"), "Delete")
    asked.get_by_role("button", name="Delete comment").click()
    expect(items(page)).to_have_count(1)
    expect(page.locator("#timeline-markers .marker")).to_have_count(1)
    expect(page.locator(f'#timeline-markers .marker[data-id="{gone["id"]}"]')).to_have_count(0)
    expect(page.locator("#comment-count")).to_have_text("(1)")
    assert [c["id"] for c in saved_comments(review)] == [keep["id"]]
    assert_same_page(page)
    assert console.problems() == []


def test_coach_replies_and_cannot_change_the_teachers_comments(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    parent = review.comment(review.teacher_api, body="Was this too fast?", t_start=1.0)
    page = reviewing(new_page(), eager_server, review, review.coach)

    theirs = item(page, "Was this too fast?")
    # The coach may resolve the teacher's thread, but not edit or delete it: the More menu
    # only offers its link.
    expect(theirs.get_by_role("button", name="Resolve the thread at 0:01")).to_be_visible()
    theirs.get_by_role("button", name="More actions for Tess Teacher\u2019s comment").click()
    expect(page.get_by_role("menuitem")).to_have_text(["Copy link"])
    page.keyboard.press("Escape")

    theirs.get_by_role("button", name="Reply to Tess Teacher at 0:01").click()
    expect(page.locator("#reply-banner")).to_be_visible()
    expect(page.locator("#reply-to")).to_have_text("Tess Teacher at 0:01")
    expect(page.locator("#composer-stamp")).to_have_text("reply at 0:01")
    body = page.get_by_role("textbox", name="Your comment")
    expect(body).to_be_focused()
    body.fill("A little, yes")
    page.get_by_role("button", name="Post reply").click()

    reply = theirs.locator("ol.replies > li.comment.reply")
    expect(reply).to_have_count(1)
    expect(reply.locator(".comment-body")).to_have_text("A little, yes")
    expect(reply.locator(".comment-author")).to_have_text("Cole Coach")
    # Indented under its parent; my own reply can be edited, but not replied to.
    parent_box, reply_box = theirs.bounding_box(), reply.bounding_box()
    assert parent_box and reply_box and reply_box["x"] > parent_box["x"] + 10
    reply.get_by_role("button", name="More actions for your comment at 0:01").click()
    expect(page.get_by_role("menuitem")).to_have_text(["Edit", "Copy link", "Delete"])
    page.keyboard.press("Escape")
    # A reply is answered and resolved with its thread: neither button on it.
    expect(reply.get_by_role("button", name="Reply", exact=True)).to_have_count(0)
    expect(reply.get_by_role("button", name="Resolve")).to_have_count(0)
    # A reply is not a new moment: no new marker, no new top-level item.
    expect(items(page)).to_have_count(1)
    expect(page.locator("#timeline-markers .marker")).to_have_count(1)
    # The composer is back to a new comment.
    expect(page.locator("#reply-banner")).to_be_hidden()
    expect(page.get_by_role("button", name="Post comment")).to_be_visible()
    saved = next(c for c in saved_comments(review) if c["body"] == "A little, yes")
    assert (saved["parent_id"], saved["t_start"]) == (parent["id"], 1.0)

    # Cancel reply: the banner goes and the composer stamps the playhead again.
    theirs.get_by_role("button", name="Reply to Tess Teacher at 0:01").click()
    page.get_by_role("button", name="Cancel reply").click()
    expect(page.locator("#reply-banner")).to_be_hidden()
    expect(page.locator("#composer-stamp")).to_contain_text("when you start typing")
    assert_same_page(page)
    assert console.problems() == []


def test_new_goal_from_the_composer(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    page = reviewing(new_page(), eager_server, review, review.teacher)

    page.get_by_role("textbox", name="Your comment").fill("Open question, good")
    goal_title = page.get_by_label("New goal title")
    goal_title.fill("Ask open questions")
    goal_title.press("Enter")  # Enter adds the goal; it does not post the comment
    box = page.locator("#composer-goal-list").get_by_label("Ask open questions")
    expect(box).to_be_checked()
    expect(goal_title).to_have_value("")
    expect(page.locator("#composer-goal-list").get_by_label("Wait time")).not_to_be_checked()
    expect(items(page)).to_have_count(0)
    expect(page.locator("#filter-goal option", has_text="Ask open questions")).to_have_count(1)
    goals = review.teacher_api.get(f"/api/v1/partnerships/{review.pid}/goals").get_json()
    created = next(g for g in goals["items"] if g["title"] == "Ask open questions")
    assert created["status"] == "active"

    page.get_by_role("button", name="Post comment").click()
    posted = item(page, "Open question, good")
    expect(posted.locator(".chip")).to_have_text("Ask open questions")
    saved = next(c for c in saved_comments(review) if c["body"] == "Open question, good")
    assert saved["goal_ids"] == [created["id"]]
    assert_same_page(page)
    assert console.problems() == []


def test_shift_drag_on_the_timeline_marks_a_range(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    page = reviewing(new_page(), eager_server, review, review.teacher)
    duration = page.evaluate("document.getElementById('player').duration")
    box = page.locator("#timeline").bounding_box()
    assert box
    y = box["y"] + box["height"] * 0.75  # the waveform lane, below the markers
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.keyboard.down("Shift")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=3)
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=3)
    page.mouse.up()
    page.keyboard.up("Shift")

    start, end = 0.2 * duration, 0.7 * duration
    stamp = f"at 0:00{EN_DASH}0:0{int(end)}"
    expect(page.locator("#composer-stamp")).to_have_text(stamp)
    expect(page.locator("#timeline-selection")).to_be_visible()
    expect(page.get_by_role("button", name="Clear range")).to_be_visible()
    body = page.get_by_role("textbox", name="Your comment")
    expect(body).to_be_focused()  # ready to write about the range
    assert page.evaluate("document.getElementById('player').paused")
    # Shift-drag does not move the playhead.
    assert page.evaluate("document.getElementById('player').currentTime") == 0

    body.fill("The whole exchange")
    page.get_by_role("button", name="Post comment").click()
    posted = item(page, "The whole exchange")
    expect(posted.locator(".comment-time")).to_have_text(f"0:00{EN_DASH}0:0{int(end)}")
    expect(page.locator("#timeline-markers .marker.range")).to_have_count(1)
    saved = next(c for c in saved_comments(review) if c["body"] == "The whole exchange")
    assert saved["t_start"] == pytest.approx(start, abs=0.1)
    assert saved["t_end"] == pytest.approx(end, abs=0.1)
    assert_same_page(page)
    assert console.problems() == []


def test_author_unresolved_and_mine_filters(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory(visibility="shared")
    review.comment(review.coach_api, body="Coach one", t_start=0.5)
    done = review.comment(review.coach_api, body="Coach two", t_start=1.0)
    review.coach_api.patch(f"/api/v1/comments/{done['id']}", json={"resolved": True})
    review.comment(review.teacher_api, body="Teacher one", t_start=1.5)
    question = review.comment(review.teacher_api, body="Teacher two", t_start=2.0)
    review.comment(review.coach_api, body="Coach answers", parent_id=question["id"])
    page = new_page()
    sign_in(page, eager_server, review.teacher)
    open_clip(page, eager_server, review)
    visible_markers = page.locator("#timeline-markers .marker:visible")
    expect(items(page)).to_have_count(4)
    expect(page.locator("#comment-count")).to_have_text("(4)")

    authors = page.get_by_label("Filter by author")
    expect(authors.locator("option")).to_have_text(["Everyone", "Cole Coach", "Tess Teacher (me)"])
    authors.select_option(label="Cole Coach")
    # Coach's own two, and the teacher's comment the coach replied to.
    expect(visible_items(page)).to_have_count(3)
    expect(page.locator("#comment-count")).to_have_text("(3 of 4)")
    expect(visible_markers).to_have_count(3)
    expect(item(page, "Teacher one")).to_be_hidden()

    page.get_by_label("Unresolved only").check()
    expect(visible_items(page)).to_have_count(2)
    expect(item(page, "Coach two")).to_be_hidden()
    authors.select_option("")
    expect(visible_items(page)).to_have_count(3)
    expect(page.locator("#comment-count")).to_have_text("(3 of 4)")

    page.get_by_label("Unresolved only").uncheck()
    page.get_by_label("Mine").check()
    expect(visible_items(page)).to_have_count(2)
    expect(visible_items(page).locator(":scope > .comment-body")).to_have_text(
        ["Teacher one", "Teacher two"]
    )
    expect(visible_markers).to_have_count(2)
    page.get_by_label("Mine").uncheck()
    expect(visible_items(page)).to_have_count(4)
    expect(visible_markers).to_have_count(4)
    expect(page.locator("#comment-count")).to_have_text("(4)")
    assert console.problems() == []


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12 s clip, long enough to step 5 s both ways; small, so it is quick to process."""
    out = tmp_path_factory.mktemp("browser-long") / "long.mp4"
    return make_lesson_clip(out, LONG_CLIP_SECONDS, size="160x120")


def player_time(page: Page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def press_outside_fields(page: Page, key: str) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)


def test_keyboard_shortcuts(
    eager_server: str, app, eager_app, make_user, api_for, long_clip, new_page,
    console: ConsoleLog,
) -> None:  # fmt: skip
    review = Review(app, eager_app, make_user, api_for, long_clip)
    page = new_page()
    sign_in(page, eager_server, review.teacher)
    open_clip(page, eager_server, review)
    video = page.locator("video#player")
    play = page.locator("#play-toggle")

    # k plays and pauses.
    press_outside_fields(page, "k")
    page.wait_for_function("!document.getElementById('player').paused")
    expect(play).to_have_text("Pause")
    expect(play).to_have_attribute("aria-pressed", "true")
    press_outside_fields(page, "k")
    page.wait_for_function("document.getElementById('player').paused")
    expect(play).to_have_text("Play")

    # l and j: 5 s forward and back; never before the start.
    page.evaluate(SEEK, [video.element_handle(), 1.0])
    press_outside_fields(page, "l")
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 6) < 0.01")
    press_outside_fields(page, "l")
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 11) < 0.01")
    press_outside_fields(page, "j")
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 6) < 0.01")
    page.evaluate(SEEK, [video.element_handle(), 2.0])
    press_outside_fields(page, "j")
    page.wait_for_function("document.getElementById('player').currentTime === 0")
    expect(page.locator("#time-display")).to_contain_text("0:00 /")

    # . and , step one frame while paused.
    page.evaluate(SEEK, [video.element_handle(), 4.0])
    press_outside_fields(page, ".")
    page.wait_for_function(
        f"Math.abs(document.getElementById('player').currentTime - {4.0 + FRAME}) < 0.002"
    )
    press_outside_fields(page, ",")
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 4) < 0.002")
    assert player_time(page) == pytest.approx(4.0, abs=0.002)

    # ? opens the shortcuts; Escape closes them, and so does Close.
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    press_outside_fields(page, "?")
    expect(help_dialog).to_be_visible()
    page.keyboard.press("l")  # shortcuts are off while the help is open
    assert player_time(page) == pytest.approx(4.0, abs=0.002)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    press_outside_fields(page, "?")
    expect(help_dialog).to_be_visible()
    help_dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert console.problems() == []
