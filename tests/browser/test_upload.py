"""In a real browser: a teacher uploads a clip with the tus page, it is processed, it plays
(Range requests through the access check), a coach can watch it, an outsider cannot."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import CLIP_SECONDS, ConsoleLog, signed_in_page
from tests.conftest import Api, serving
from videocoach import db
from videocoach.accounts.models import User
from videocoach.partnerships.models import Membership
from workers import pipeline

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "clip-status.png"
PROCESSING_TIMEOUT_MS = 90_000

# Resolves once the <video> has its metadata (or rejects on a media error), then reports.
WAIT_FOR_METADATA = """
async (video) => {
  if (video.readyState < 1) {
    await new Promise((resolve, reject) => {
      video.addEventListener("loadedmetadata", resolve, { once: true });
      video.addEventListener("error", () => reject(new Error("media error " +
        (video.error && video.error.code) + ": " + (video.error && video.error.message))),
        { once: true });
    });
  }
  return { duration: video.duration, src: video.currentSrc, poster: video.poster };
}
"""

# Seek (a Range request for the middle of the file), then play muted until time moves on.
SEEK_AND_PLAY = """
async (video) => {
  const seeked = new Promise((resolve) =>
    video.addEventListener("seeked", resolve, { once: true }));
  video.currentTime = 1.5;
  await seeked;
  const afterSeek = video.currentTime;
  video.muted = true;
  await video.play();
  const start = video.currentTime;
  await new Promise((resolve) => {
    const check = () => (video.currentTime > start + 0.2 ? resolve() : setTimeout(check, 50));
    check();
  });
  video.pause();
  return { afterSeek: afterSeek, playedTo: video.currentTime };
}
"""


def new_partnership(api_for: Callable[[User], Api], teacher: User) -> str:
    created = api_for(teacher).post(
        "/api/v1/partnerships", json={"name": "Tess + Cole", "role": "teacher"}
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["partnership"]["id"]


def upload_through_page(
    page: Page, base: str, pid: str, clip: Path, title: str, *, wait_ready: bool = True
) -> str:
    """Fill in the upload page and send the file; returns the clip's page URL."""
    page.goto(f"{base}/partnerships/{pid}/upload")
    page.set_input_files("#file", clip)
    page.get_by_label("Title").fill(title)
    page.get_by_label("My partnership").check()
    page.get_by_role("button", name="Upload").click()
    # Jobs run inline, so the last PATCH (and this panel) lasts while the clip is processed.
    expect(page.locator("#upload-progress")).to_be_visible()
    expect(page.locator("#upload-form")).to_be_hidden()
    page.wait_for_url(re.compile(r"/clips/[^/]+$"), timeout=PROCESSING_TIMEOUT_MS)
    if wait_ready:
        expect(page.locator(".clip-status .status-label")).to_have_text(
            "Ready", timeout=PROCESSING_TIMEOUT_MS
        )
    return page.url


def test_teacher_uploads_in_the_browser_and_plays_the_clip(
    eager_server: str, new_page, make_user, api_for, phone_clip: Path, console: ConsoleLog
) -> None:
    teacher = make_user("Tess Teacher")
    pid = new_partnership(api_for, teacher)
    page = signed_in_page(new_page, eager_server, teacher)

    clip_url = upload_through_page(page, eager_server, pid, phone_clip, "Fractions, period 3")

    expect(page.get_by_role("heading", name="Fractions, period 3")).to_be_visible()
    expect(page.locator(".badge.private")).to_have_count(0)  # shared, as chosen
    player = page.locator("video#player")
    expect(player).to_have_attribute("src", re.compile(r"/media/"))
    expect(player).to_have_attribute("poster", re.compile(r"/media/"))
    loaded = player.evaluate(WAIT_FOR_METADATA)
    assert abs(loaded["duration"] - CLIP_SECONDS) < 0.25, loaded
    played = player.evaluate(SEEK_AND_PLAY)
    assert abs(played["afterSeek"] - 1.5) < 0.1, played
    assert played["playedTo"] > played["afterSeek"], played

    # The same media URL answers a byte range with 206, after the access check.
    ranged = page.request.get(loaded["src"], headers={"Range": "bytes=0-99"})
    assert ranged.status == 206
    assert len(ranged.body()) == 100
    assert ranged.headers["content-range"].startswith("bytes 0-99/")
    poster = page.request.get(loaded["poster"])
    assert poster.status == 200
    assert poster.headers["content-type"].startswith("image/")

    page.evaluate("window.scrollTo(0, 0)")
    png = page.screenshot()
    assert len(png) < 300_000
    if os.environ.get("VIDEOCOACH_WRITE_SCREENSHOTS"):  # refresh the README's pictures on demand
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        partial = SCREENSHOT.with_name(f"{SCREENSHOT.stem}.{os.getpid()}.tmp")
        partial.write_bytes(png)
        partial.replace(SCREENSHOT)
    assert clip_url.startswith(eager_server)
    assert console.problems() == []


def test_coach_can_play_a_shared_clip_but_outsider_gets_404(
    eager_server: str,
    app: Flask,
    new_page,
    make_user,
    api_for,
    phone_clip: Path,
    console: ConsoleLog,
) -> None:
    teacher, coach, outsider = make_user("Tess"), make_user("Cole Coach"), make_user("Olly")
    pid = new_partnership(api_for, teacher)
    with app.app_context():
        db.session.add(Membership(partnership_id=pid, user_id=coach.id, role="coach"))
        db.session.commit()
    teacher_page = signed_in_page(new_page, eager_server, teacher)
    clip_url = upload_through_page(teacher_page, eager_server, pid, phone_clip, "Shared lesson")
    media_url = teacher_page.locator("video#player").get_attribute("src")
    assert media_url

    coach_page = signed_in_page(new_page, eager_server, coach)
    response = coach_page.goto(clip_url)
    assert response is not None and response.status == 200
    expect(coach_page.locator(".clip-status .status-label")).to_have_text("Ready")
    loaded = coach_page.locator("video#player").evaluate(WAIT_FOR_METADATA)
    assert abs(loaded["duration"] - CLIP_SECONDS) < 0.25, loaded
    expect(coach_page.get_by_role("button", name="Delete clip")).to_have_count(0)

    outsider_page = signed_in_page(new_page, eager_server, outsider)
    response = outsider_page.goto(clip_url)
    assert response is not None and response.status == 404
    media = outsider_page.request.get(eager_server + media_url)
    assert media.status == 404
    # The outsider's 404 page load is expected to be logged; nothing else may be.
    assert console.problems(allow=("status of 404",)) == []


def test_clip_page_follows_processing_live(
    queued_server: str,
    queued_app: Flask,
    new_page,
    make_user,
    api_for,
    phone_clip: Path,
    console: ConsoleLog,
) -> None:
    """clip-status.js: a queued clip's page turns Ready and playable without a reload."""
    teacher = make_user("Tess")
    pid = new_partnership(api_for, teacher)
    page = signed_in_page(new_page, queued_server, teacher)
    clip_url = upload_through_page(
        page, queued_server, pid, phone_clip, "Still in the queue", wait_ready=False
    )
    status = page.locator(".clip-status .status-label")
    expect(status).to_have_text("Waiting to be processed")
    expect(page.locator("#not-playable")).to_be_visible()
    page.evaluate("window.__samePage = true")  # gone if the page reloads

    with queued_app.app_context():  # what a worker would do with the queued job
        pipeline.process_clip(clip_url.rsplit("/", 1)[-1])

    expect(status).to_have_text("Ready", timeout=PROCESSING_TIMEOUT_MS)
    player = page.locator("video#player")
    expect(player).to_have_attribute("src", re.compile(r"/media/"))
    expect(player).to_have_attribute("poster", re.compile(r"/media/"))
    expect(page.locator("#not-playable")).to_be_hidden()
    expect(page.locator(".clip-status progress")).to_be_hidden()
    assert page.evaluate("window.__samePage") is True
    loaded = player.evaluate(WAIT_FOR_METADATA)
    assert abs(loaded["duration"] - CLIP_SECONDS) < 0.25, loaded
    assert console.problems() == []


def test_an_upload_past_the_daily_allowance_says_why_and_when_at_once(
    app: Flask,
    make_app: Callable[..., Flask],
    new_page,
    make_user,
    api_for,
    phone_clip: Path,
    console: ConsoleLog,
) -> None:
    """Refused at tus creation (429, before a byte is sent): back to the form with the
    sentence beside the file, no retries; and the page says it too once reloaded."""
    teacher = make_user("Tess")
    pid = new_partnership(api_for, teacher)
    with serving(make_app(VIDEOCOACH_UPLOADS_PER_DAY="1")) as base:
        page = signed_in_page(new_page, base, teacher)
        page.goto(f"{base}/partnerships/{pid}/upload")
        expect(page.locator("#file-error")).to_be_hidden()
        creations: list[int] = []
        page.on(
            "response",
            lambda r: creations.append(r.status) if r.request.method == "POST" else None,
        )
        for attempt in range(2):
            page.goto(f"{base}/partnerships/{pid}/upload")
            page.set_input_files("#file", phone_clip)
            page.get_by_role("button", name="Upload").click()
            if attempt == 0:  # the first of the day is taken
                page.wait_for_url(re.compile(r"/clips/[^/]+$"), timeout=PROCESSING_TIMEOUT_MS)
        error = page.locator("#file-error")
        expect(error).to_have_text(
            re.compile(
                r"^You have uploaded 1 clip today, the most this server accepts from one person "
                r"in a day\. The limit resets at midnight UTC, in .+\.$"
            )
        )
        expect(page.locator("#upload-form")).to_be_visible()
        expect(page.locator("#upload-progress")).to_be_hidden()
        page.wait_for_timeout(1500)  # tus-js-client would have retried by now
        assert creations == [201, 429]
        page.reload()
        expect(page.locator("#file-error")).to_contain_text("You have uploaded 1 clip today")
    assert console.problems(allow=("status of 429",)) == []
