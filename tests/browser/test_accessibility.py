"""In a real browser: axe-core finds no WCAG 2.1 A/AA problems on the app's pages, and
keyboard focus is always visible on the clip page.

axe-core is vendored for the tests only (tests/browser/vendor, MPL-2.0); it is never served.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog, Review, signed_in_page

AXE = Path(__file__).resolve().parent / "vendor" / "axe-4.14.1.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """
async (tags) => {
  const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}
"""


@pytest.fixture
def context_options() -> dict[str, object]:
    """Bypass the page's CSP (script-src 'self') so axe's injected script tag can run:
    nothing else about the pages changes."""
    return {"bypass_csp": True}


def violations(page: Page, label: str) -> list[str]:
    """axe's WCAG 2.1 A/AA violations on the page as it is now, one readable line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, WCAG_AA)
    return [
        f"{label}: {v['id']} ({v['impact']}): {v['help']}: {', '.join(v['targets'])}" for v in found
    ]


def report(problems: list[str]) -> str:
    return "axe found accessibility problems:\n  " + "\n  ".join(problems)


def test_signed_out_pages(eager_server: str, new_page, console: ConsoleLog) -> None:
    page = new_page()
    problems: list[str] = []
    page.goto(f"{eager_server}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    problems += violations(page, "login")

    page.goto(f"{eager_server}/signup")
    page.get_by_label("Email").fill("not-an-address")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".field.has-error").first).to_be_visible()
    problems += violations(page, "sign-up with errors")
    assert problems == [], report(problems)
    assert console.problems(allow=("status of 422",)) == []


def reviewed_clip(review_factory) -> Review:
    """A shared clip with comments of every sort: kinds, a goal, a range, a reply, resolved."""
    review: Review = review_factory(visibility="shared")
    review.comment(
        review.coach_api, body="Lovely **pause**", t_start=0.5, kind="strength",
        goal_ids=[review.goal_id],
    )  # fmt: skip
    asked = review.comment(review.teacher_api, body="What did they hear?", t_start=1.0)
    review.teacher_api.patch(f"/api/v1/comments/{asked['id']}", json={"resolved": True})
    parent = review.comment(review.coach_api, body="A range", t_start=1.5, t_end=2.5)
    review.comment(review.teacher_api, body="Thanks!", parent_id=parent["id"])
    return review


def test_partnership_and_account_pages(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review = reviewed_clip(review_factory)
    page = signed_in_page(new_page, eager_server, review.teacher, viewport=(1280, 800))
    problems: list[str] = []
    pages = {
        "my partnerships": "/partnerships",
        "partnership home": f"/partnerships/{review.pid}",
        "clips": f"/partnerships/{review.pid}/clips",
        "upload": f"/partnerships/{review.pid}/upload",
        "goals": f"/partnerships/{review.pid}/goals",
        "edit goal": f"/goals/{review.goal_id}/edit",
        "account": "/account",
    }
    for label, path in pages.items():
        page.goto(eager_server + path)
        problems += violations(page, label)
    assert problems == [], report(problems)
    assert console.problems() == []


def test_clip_review_page(eager_server: str, review_factory, new_page, console: ConsoleLog) -> None:
    review = reviewed_clip(review_factory)
    page = signed_in_page(new_page, eager_server, review.teacher, viewport=(1280, 800))
    page.goto(f"{eager_server}/clips/{review.cid}")
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#comment-list li.comment")).to_have_count(4)
    problems = violations(page, "clip review")
    # With the composer unfolded in reply mode and an inline edit form open.
    page.get_by_role("button", name="Reply to Cole Coach at 0:01").click()
    page.get_by_role("textbox", name="Your comment").fill("A thought")
    page.get_by_role("button", name="More actions for your comment at 0:01").first.click()
    page.get_by_role("menuitem", name="Edit").click()
    expect(page.locator(".edit-form")).to_have_count(1)
    problems += violations(page, "clip review, reply and edit open")
    page.get_by_role("button", name="Shortcuts").click()
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    problems += violations(page, "clip review, shortcuts dialog")
    assert problems == [], report(problems)
    assert console.problems() == []


# The focused element's ring: its outline (or, failing that, box-shadow) colours, and the best
# contrast any of them has against the colour behind the element (WCAG 1.4.11 asks 3:1).
FOCUS_STYLE = """
(el) => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  let behind = [255, 255, 255];
  for (let node = el.parentElement; node; node = node.parentElement) {
    const bg = rgb(getComputedStyle(node).backgroundColor);
    if (bg.length === 3 || (bg.length === 4 && bg[3] === 1)) { behind = bg.slice(0, 3); break; }
  }
  const s = getComputedStyle(el);
  const rings = [];
  if (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) rings.push(rgb(s.outlineColor));
  if (s.boxShadow !== "none") {
    for (const color of s.boxShadow.match(/rgba?\\([^)]*\\)/g) || []) rings.push(rgb(color));
  }
  return {
    tag: el.tagName, id: el.id, text: (el.textContent || "").trim().slice(0, 40),
    rings: rings.length,
    contrast: Math.max(0, ...rings.map((c) => contrast(c.slice(0, 3), behind))),
  };
}
"""


def test_focus_is_visible_on_the_clip_page(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review: Review = review_factory()
    review.comment(review.teacher_api, body="Mine", t_start=1.0)
    page = signed_in_page(new_page, eager_server, review.teacher)
    page.goto(f"{eager_server}/clips/{review.cid}")
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    seen = []
    for _ in range(24):  # through the player and the export links, on to the composer
        page.keyboard.press("Tab")
        style = page.evaluate(FOCUS_STYLE, page.evaluate_handle("document.activeElement"))
        assert style["tag"] != "BODY", f"focus was lost after {seen}"
        assert style["rings"], f"no visible focus on {style}"
        assert style["contrast"] >= 3, f"the focus ring is too faint on {style}"
        seen.append(style["id"] or style["text"] or style["tag"])
    assert {"play-toggle", "speed", "timeline", "composer-body"} <= set(seen), seen
    assert console.problems() == []


def test_meeting_page_and_its_record(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review = reviewed_clip(review_factory)
    page = signed_in_page(new_page, eager_server, review.teacher, viewport=(1280, 800))
    page.goto(f"{eager_server}/clips/{review.cid}")
    problems = violations(page, "clip page offering a meeting")
    with page.expect_navigation():
        page.get_by_role("button", name="Start a meeting").click()
    expect(page.locator("#meeting")).to_have_attribute("data-live", "true")
    page.get_by_role("tab", name="Next steps").click()
    page.get_by_label("New next step").fill("Count to five")
    page.get_by_role("button", name="Add next step").click()
    expect(page.locator("#meeting-steps")).to_contain_text("Count to five")
    page.get_by_role("button", name="Add next step").click()  # empty: an error shows
    expect(page.locator("#step-error")).to_be_visible()
    problems += violations(page, "meeting")
    page.get_by_role("button", name="End meeting").click()
    confirmation = page.get_by_role("dialog")
    expect(confirmation).to_be_visible()
    problems += violations(page, "meeting, asked to confirm the end")
    with page.expect_navigation():
        confirmation.get_by_role("button", name="End meeting").click()
    problems += violations(page, "meeting record")
    assert problems == [], report(problems)
    assert console.problems() == []


def test_clip_page_opened_at_a_linked_comment(
    eager_server: str, review_factory, new_page, console: ConsoleLog
) -> None:
    review = reviewed_clip(review_factory)
    linked = review.comment(review.coach_api, body="Look here", t_start=2.0, kind="suggestion")
    page = signed_in_page(new_page, eager_server, review.teacher, viewport=(1280, 800))
    page.goto(f"{eager_server}/clips/{review.cid}#comment-{linked['id']}")
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    target = page.locator(f'li.comment[data-id="{linked["id"]}"]')
    expect(target).to_be_focused()
    problems = violations(page, "clip review at a linked comment, highlighted")
    assert problems == [], report(problems)
    style = page.evaluate(FOCUS_STYLE, page.evaluate_handle("document.activeElement"))
    assert style["rings"] and style["contrast"] >= 3, style
    page.wait_for_timeout(4500)  # the highlight has faded: the focus still shows
    style = page.evaluate(FOCUS_STYLE, page.evaluate_handle("document.activeElement"))
    assert style["rings"] and style["contrast"] >= 3, style
    assert console.problems() == []
