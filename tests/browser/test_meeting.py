"""In two real browsers: a coach and a teacher review one clip together in a meeting.
The driver's seek, pause and speed reach the other within a second; comments, notes and
next steps appear for both without a reload; the driving is handed over with one click;
ending the meeting leaves a printable record."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog, Review, make_lesson_clip, sign_in
from tests.browser.test_review import WAIT_FOR_METADATA

SYNC_LIMIT_S = 1.0
CLIP_SECONDS = 20
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "meeting.png"

SEEK = "(video, t) => { video.currentTime = t; }"
AT = "([t]) => Math.abs(document.getElementById('player').currentTime - t) < 0.3"


@pytest.fixture(scope="session")
def meeting_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("meeting-media")
    return make_lesson_clip(folder / "lesson.mp4", CLIP_SECONDS, size="160x120")


@pytest.fixture
def review(app, eager_app, make_user, api_for, meeting_clip) -> Review:
    return Review(app, eager_app, make_user, api_for, meeting_clip, visibility="shared")


def join(page: Page, base: str, review: Review, user, *, start: bool) -> None:
    sign_in(page, base, user)
    page.goto(f"{base}/clips/{review.cid}")
    with page.expect_navigation():
        if start:
            page.get_by_role("button", name="Start a meeting").click()
        else:
            page.get_by_role("link", name="Join the meeting").click()
    expect(page.locator("#meeting")).to_have_attribute("data-live", "true")
    page.locator("video#player").evaluate(WAIT_FOR_METADATA)
    # A click on the page, as a person makes, lets the browser play along with sound.
    page.get_by_role("tab", name="Comments").click()


def within(page: Page, script: str, arg: object, limit_s: float = SYNC_LIMIT_S) -> float:
    """Seconds until `script` holds on `page`; fails past `limit_s`."""
    started = time.monotonic()
    page.wait_for_function(script, arg=arg, polling="raf", timeout=limit_s * 1000)
    return time.monotonic() - started


def test_two_browsers_review_a_clip_together(
    eager_server: str, review: Review, new_page: Callable[..., Page], console: ConsoleLog
) -> None:
    base = eager_server
    teacher, coach = new_page((1280, 900)), new_page((1280, 900))
    join(teacher, base, review, review.teacher, start=True)
    join(coach, base, review, review.coach, start=False)

    # Presence, and who drives: the starter.
    expect(teacher.locator("#presence")).to_contain_text("Cole Coach")
    expect(coach.locator("#presence")).to_contain_text("Tess Teacher")
    expect(coach.locator("#driver-text")).to_have_text("Tess Teacher is driving.")
    expect(teacher.locator("#driver-text")).to_contain_text("You are driving")

    # The driver seeks: the other screen is at the same moment within a second.
    video = teacher.locator("video#player")
    started = time.monotonic()
    video.evaluate(SEEK, 12.0)
    coach.wait_for_function(AT, arg=[12.0], polling="raf", timeout=SYNC_LIMIT_S * 1000)
    assert time.monotonic() - started < SYNC_LIMIT_S

    # Play, then pause: the other plays along, then stops at the driver's moment.
    teacher.get_by_role("button", name="Play").click()
    within(coach, "() => !document.getElementById('player').paused", None)
    teacher.wait_for_timeout(700)
    started = time.monotonic()
    teacher.get_by_role("button", name="Pause").click()
    coach.wait_for_function(
        "() => document.getElementById('player').paused", polling="raf", timeout=1000
    )
    assert time.monotonic() - started < SYNC_LIMIT_S
    paused_at = video.evaluate("v => v.currentTime")
    within(coach, AT, [paused_at])

    # Speed follows too.
    teacher.get_by_label("Speed").select_option("1.5")
    within(coach, "() => document.getElementById('player').playbackRate === 1.5", None)

    # The driver's page reloads mid-play: it lands on the shared moment without pausing
    # everyone else.
    video.evaluate(SEEK, 2.0)
    within(coach, AT, [2.0])
    teacher.get_by_role("button", name="Play").click()
    within(coach, "() => !document.getElementById('player').paused", None)
    teacher.reload()
    expect(teacher.locator("#meeting")).to_have_attribute("data-live", "true")
    teacher.wait_for_timeout(1000)
    coach_state = coach.evaluate(
        "() => [document.getElementById('player').paused, "
        "document.getElementById('player').currentTime]"
    )
    assert coach_state[0] is False, coach_state
    play_along = teacher.locator("#follow-play")
    if play_along.is_visible():  # the browser wanted a click before playing sound
        play_along.click()
    teacher.get_by_role("button", name="Pause").click()
    within(coach, "() => document.getElementById('player').paused", None)

    # The coach comments: it appears on the teacher's screen without a reload.
    coach.get_by_label("Your comment").fill("Look at the wait time here")
    coach.get_by_role("button", name="Post comment").click()
    expect(teacher.locator("#comment-list")).to_contain_text("Look at the wait time here")

    # Hand the driving over with one click; now the coach's seek moves the teacher.
    teacher.get_by_role("button", name="Hand over").click()
    expect(coach.locator("#driver-text")).to_contain_text("You are driving")
    expect(teacher.locator("#driver-text")).to_have_text("Cole Coach is driving.")
    coach.locator("video#player").evaluate(SEEK, 4.0)
    within(teacher, AT, [4.0])

    # Notes and a next step tied to the goal, shared live (each in its tab beside the video).
    for page in (teacher, coach):
        page.get_by_role("tab", name="Notes").click()
    teacher.get_by_label("Meeting notes").fill("Agreed: count to five after each question.")
    expect(coach.get_by_label("Meeting notes")).to_have_value(
        "Agreed: count to five after each question.", timeout=5000
    )
    coach.get_by_role("tab", name="Next steps").click()
    coach.get_by_label("New next step").fill("Try five seconds of wait time")
    coach.get_by_label("Goal", exact=True).select_option(label="Wait time")
    coach.get_by_label("Owner").select_option(label="Tess Teacher")
    coach.get_by_label("Due").fill("2026-12-15")
    coach.get_by_role("button", name="Add next step").click()
    expect(teacher.locator("#meeting-steps")).to_contain_text("Try five seconds of wait time")
    expect(teacher.locator("#meeting-steps")).to_contain_text("Goal: Wait time")
    if os.environ.get("VIDEOCOACH_WRITE_SCREENSHOTS"):
        teacher.screenshot(path=str(SCREENSHOT), full_page=True)

    # Ending (once the teacher confirms) takes both to the record: notes and next steps.
    teacher.get_by_role("button", name="End meeting").click()
    with teacher.expect_navigation(), coach.expect_navigation():
        teacher.get_by_role("dialog").get_by_role("button", name="End meeting").click()
    for page in (teacher, coach):
        expect(page.get_by_role("heading", name="Meeting on “Fractions”")).to_be_visible()
        expect(page.locator(".record-steps")).to_contain_text("Try five seconds of wait time")
        expect(page.locator(".record-notes")).to_contain_text("count to five")
        expect(page.locator(".summary-table")).to_contain_text("Look at the wait time here")
    # The record stays reachable from the clip page, where a new meeting can start.
    coach.get_by_role("link", name="Back to the clip").click()
    coach.get_by_role("link", name=re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")).click()
    expect(coach.locator(".record-steps")).to_contain_text("Try five seconds of wait time")
    assert console.problems() == []
