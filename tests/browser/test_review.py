"""In a real browser: the clip review page. Comments seek the player, the composer stamps
the moment, ranges come from [ and ], filters, storyboard hover previews, sharing, and
comment bodies that stay text."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog, Review, sign_in

EN_DASH = "\u2013"  # between the ends of a range: 0:00 to 0:01
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "clip-page.png"

WAIT_FOR_METADATA = """
async (video) => {
  if (video.readyState < 1) {
    await new Promise((resolve, reject) => {
      video.addEventListener("loadedmetadata", resolve, { once: true });
      video.addEventListener("error", () => reject(new Error("media error")), { once: true });
    });
  }
  return video.duration;
}
"""

SEEK = """
async ([video, t]) => {
  if (Math.abs(video.currentTime - t) < 0.001) return video.currentTime;
  const seeked = new Promise((resolve) =>
    video.addEventListener("seeked", resolve, { once: true }));
  video.currentTime = t;
  await seeked;
  return video.currentTime;
}
"""


def open_clip(page: Page, base: str, review: Review) -> None:
    page.goto(f"{base}/clips/{review.cid}")
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    page.locator("video#player").evaluate(WAIT_FOR_METADATA)


def no_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def on_dialog(dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def test_review_a_clip(eager_server: str, review_factory, new_page, console: ConsoleLog) -> None:
    review = review_factory(visibility="shared")
    review.comment(
        review.coach_api, body="Lovely **pause**", t_start=0.5, kind="strength",
        goal_ids=[review.goal_id],
    )  # fmt: skip
    review.comment(review.teacher_api, body="What did they hear?", t_start=2.0, kind="question")
    review.comment(review.coach_api, body="<script>alert(1)</script>", t_start=2.5)

    page = new_page(viewport=(1280, 800))
    dialogs = no_dialogs(page)
    sign_in(page, eager_server, review.teacher)
    open_clip(page, eager_server, review)
    video = page.locator("video#player")
    items = page.locator("#comment-list > li.comment")
    markers = page.locator("#timeline-markers .marker")
    expect(items).to_have_count(3)
    expect(markers).to_have_count(3)

    # Bodies are shown as text; the sanitised HTML keeps the bold.
    expect(items.nth(2).locator(".comment-body")).to_have_text("<script>alert(1)</script>")
    expect(items.nth(0).locator(".comment-body strong")).to_have_text("pause")
    expect(items.nth(0).locator(".chip")).to_have_text("Wait time")
    expect(items.nth(0).locator(".kind")).to_have_text("Strength")
    # Only my own comments can be edited (Edit waits in each comment's More menu).
    for index, editable in ((0, 0), (1, 1)):
        items.nth(index).locator(":scope > .comment-actions").get_by_role(
            "button", name="More"
        ).click()
        expect(page.get_by_role("menuitem", name="Copy link")).to_be_visible()
        expect(page.get_by_role("menuitem", name="Edit", exact=True)).to_have_count(editable)
        page.keyboard.press("Escape")
        expect(page.get_by_role("menu")).to_have_count(0)

    # Clicking a comment seeks the player to its moment and highlights it.
    items.nth(1).locator(".comment-body").click()
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 2) < 0.05")
    expect(items.nth(1)).to_have_attribute("aria-current", "true")

    # Typing stamps the current moment; pick a goal, post: it appears without a reload.
    page.evaluate("window.__samePage = true")
    page.evaluate(SEEK, [video.element_handle(), 1.25])
    page.get_by_role("textbox", name="Your comment").fill("Good wait time here")
    expect(page.locator("#composer-stamp")).to_have_text("at 0:01")
    page.locator("#composer-goal-list").get_by_label("Wait time").check()
    page.get_by_label("Kind of comment").select_option("suggestion")
    page.get_by_role("button", name="Post comment").click()
    expect(items).to_have_count(4)
    posted = items.filter(has_text="Good wait time here")
    expect(posted.locator(".comment-time")).to_have_text("0:01")
    expect(posted.locator(".chip")).to_have_text("Wait time")
    expect(markers).to_have_count(4)
    expect(page.locator("#timeline-markers .marker.is-suggestion")).to_have_count(1)

    # A range with [ and ] at the playhead.
    page.evaluate(SEEK, [video.element_handle(), 0.25])
    page.locator("#timeline").focus()
    page.keyboard.press("[")
    page.evaluate(SEEK, [video.element_handle(), 1.75])
    page.locator("#timeline").focus()
    page.keyboard.press("]")
    expect(page.locator("#composer-stamp")).to_have_text(f"at 0:00{EN_DASH}0:01")
    page.get_by_role("textbox", name="Your comment").fill("This whole exchange")
    page.get_by_role("button", name="Post comment").click()
    ranged = items.filter(has_text="This whole exchange")
    expect(ranged.locator(".comment-time")).to_have_text(f"0:00{EN_DASH}0:01")
    expect(page.locator("#timeline-markers .marker.range")).to_have_count(1)
    saved = review.teacher_api.get(f"/api/v1/clips/{review.cid}/comments").get_json()["items"]
    exchange = next(c for c in saved if c["body"] == "This whole exchange")
    assert (exchange["t_start"], exchange["t_end"]) == (0.25, 1.75)

    # Filter by goal: only the two comments tied to it stay visible.
    page.get_by_label("Filter by goal").select_option(label="Wait time")
    expect(page.locator("#comment-list > li.comment:visible")).to_have_count(2)
    expect(page.locator("#comment-count")).to_have_text("(2 of 5)")
    page.get_by_label("Filter by goal").select_option("")
    expect(page.locator("#comment-list > li.comment:visible")).to_have_count(5)

    # Hovering the timeline previews the storyboard frame there.
    box = page.locator("#timeline").bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    expect(page.locator("#storyboard-preview")).to_be_visible()
    thumb = page.locator("#storyboard-thumb")
    expect(thumb).to_be_visible()
    background = thumb.evaluate("el => getComputedStyle(el).backgroundImage")
    assert "storyboard" in background, background

    # The shortcuts help is a real dialog.
    page.mouse.move(box["x"], box["y"] - 200)
    page.locator("#timeline").focus()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    assert page.evaluate("window.__samePage") is True
    if os.environ.get("VIDEOCOACH_WRITE_SCREENSHOTS"):
        page.evaluate(SEEK, [video.element_handle(), 2.0])
        page.evaluate("window.scrollTo(0, 0)")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        partial = SCREENSHOT.with_name(f"{SCREENSHOT.stem}.{os.getpid()}.tmp")
        partial.write_bytes(page.screenshot())
        partial.replace(SCREENSHOT)
    assert dialogs == []
    assert console.problems() == []


def test_private_clip_shared_and_private_note(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review = review_factory()  # private by default
    page = new_page()
    dialogs = no_dialogs(page)
    sign_in(page, eager_server, review.teacher)
    open_clip(page, eager_server, review)
    expect(page.locator(".badge.private")).to_be_visible()

    # A private note, written with `c` at the current moment.
    page.locator("#timeline").focus()
    page.keyboard.press("c")
    expect(page.get_by_role("textbox", name="Your comment")).to_be_focused()
    page.keyboard.type("Remember to slow down")
    page.get_by_label("Private note (only you)").check()
    page.get_by_role("button", name="Post comment").click()
    note = page.locator("#comment-list > li.comment").filter(has_text="Remember to slow down")
    expect(note.locator(".private-note")).to_have_text("Private note")
    coach_view = review.coach_api.get(f"/api/v1/clips/{review.cid}/comments")
    assert coach_view.status_code == 404  # the clip itself is still private

    page.get_by_role("button", name="Share with your partnership").click()
    expect(page.locator(".badge.private")).to_have_count(0)
    expect(page.get_by_role("button", name="Make private again")).to_be_visible()
    coach_view = review.coach_api.get(f"/api/v1/clips/{review.cid}/comments")
    assert coach_view.status_code == 200 and coach_view.get_json()["items"] == []
    assert dialogs == []
    assert console.problems() == []
