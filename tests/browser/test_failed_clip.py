"""In a real browser: a failed clip's page, and a clip list showing one, stay put (seen: they
reloaded several times a second for ever), say what went wrong and what to do, and offer
"Try again" only when trying again can help; trying again ends with the player."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from flask import Flask
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Page, expect

from tests.browser.conftest import sign_in
from tests.studio import Studio, make_studio
from videocoach import db
from videocoach.accounts.models import User
from videocoach.clips import files
from workers import pipeline

WATCH_MS = 6_000  # the old pages reloaded ~5 times a second
NOT_A_VIDEO = "This file is not a video we can read"


class Navigations:
    """Counts the main frame's navigations (loads, reloads) from the moment it is made."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.urls: list[str] = []
        page.on("framenavigated", self._on_navigated)

    def _on_navigated(self, frame: Frame) -> None:
        if frame == self.page.main_frame:
            self.urls.append(frame.url)

    @property
    def count(self) -> int:
        return len(self.urls)


def teacher_page(new_page: Callable[..., Page], base_url: str, studio: Studio) -> Page:
    with studio.app.app_context():
        teacher = db.session.get(User, studio.teacher_id)
        db.session.expunge(teacher)
    page = new_page()
    sign_in(page, base_url, teacher)
    return page


def open_and_watch(page: Page, url: str) -> Navigations:
    """Open `url`, mark its window, then watch it for WATCH_MS without touching it."""
    page.goto(url, wait_until="domcontentloaded")
    navigations = Navigations(page)
    with suppress(PlaywrightError):  # already reloading: counted by `navigations`
        page.evaluate("window.__marker = 1")
    page.wait_for_timeout(WATCH_MS)
    return navigations


def failed_upload(studio: Studio, sample: Path, **form: str) -> str:
    response = studio.upload(sample, **form)
    assert response.status_code == 202, response.json
    clip_id = response.json["clip"]["id"]
    clip = studio.clip(clip_id)
    assert clip["status"] == "failed", clip
    return clip_id


def test_a_failed_clips_page_stays_put_and_says_what_to_do(
    eager_server: str, studio: Studio, new_page: Callable[..., Page], media_samples
) -> None:
    clip_id = failed_upload(studio, media_samples["text.mp4"], title="Staff minutes")
    page = teacher_page(new_page, eager_server, studio)

    navigations = open_and_watch(page, f"{eager_server}/clips/{clip_id}")

    assert navigations.count == 0, (
        f"the failed clip's page reloaded {navigations.count} times in {WATCH_MS / 1000:g} s"
    )
    assert page.evaluate("window.__marker") == 1  # still the window that was opened
    assert studio.clip(clip_id)["can_retry"] is False  # the file itself is the problem
    failed = page.locator("#clip-failed")
    expect(failed).to_be_visible()
    expect(failed.get_by_role("heading")).to_have_text("This clip could not be processed")
    expect(failed.get_by_role("alert")).to_contain_text(NOT_A_VIDEO)
    expect(failed).to_contain_text("Upload another recording")
    expect(failed.get_by_role("link", name="Upload another file")).to_be_visible()
    expect(failed.get_by_role("button", name="Delete clip")).to_be_visible()
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)  # cannot help
    expect(page.locator("video#player")).to_have_count(0)
    expect(page.locator("#composer")).to_have_count(0)
    expect(page.get_by_text("Loading comments")).to_have_count(0)
    expect(page.get_by_text("printable summary")).to_have_count(0)


def test_a_clip_list_with_a_failed_clip_stays_put(
    eager_server: str, studio: Studio, new_page: Callable[..., Page], media_samples
) -> None:
    failed_upload(studio, media_samples["text.mp4"], title="Staff minutes")
    page = teacher_page(new_page, eager_server, studio)

    navigations = open_and_watch(page, f"{eager_server}/partnerships/{studio.pid}/clips")

    assert navigations.count == 0, (
        f"the clip list reloaded {navigations.count} times in {WATCH_MS / 1000:g} s"
    )
    assert page.evaluate("window.__marker") == 1
    card = page.locator(".clip-card", has_text="Staff minutes")
    expect(card.locator(".status-label")).to_have_text("Could not be processed")
    expect(card.locator(".clip-error")).to_contain_text(NOT_A_VIDEO)


def test_try_again_on_a_storage_failure_ends_with_the_player(
    queued_app: Flask,
    queued_server: str,
    make_user,
    new_page: Callable[..., Page],
    media_samples,
) -> None:
    studio = make_studio(queued_app, make_user)
    response = studio.upload(media_samples["h264_aac.mp4"], title="Fractions")
    assert response.status_code == 202, response.json
    clip_id = response.json["clip"]["id"]
    # A folder where the web rendition must go: the storage refuses the file, for real.
    media_root = queued_app.extensions["videocoach.settings"].data_dir / "media"
    obstruction = media_root / files.key(clip_id, files.WEB)
    obstruction.mkdir(parents=True)
    (obstruction / "in-the-way").write_text("x")
    with queued_app.app_context():
        pipeline.process_clip(clip_id)
    clip = studio.clip(clip_id)
    assert clip["status"] == "failed" and clip["error"] == pipeline.STORAGE_FAILED, clip
    assert clip["can_retry"] is True

    page = teacher_page(new_page, queued_server, studio)
    page.goto(f"{queued_server}/clips/{clip_id}")
    failed = page.locator("#clip-failed")
    expect(failed.get_by_role("alert")).to_have_text(pipeline.STORAGE_FAILED)
    expect(page.locator("video#player")).to_have_count(0)
    try_again = page.get_by_role("button", name="Try again")
    expect(try_again).to_be_visible()

    (obstruction / "in-the-way").unlink()  # the administrator fixed the storage
    obstruction.rmdir()
    with page.expect_navigation():
        try_again.click()
    expect(page.locator("#clip-failed")).to_have_count(0)
    expect(page.locator("video#player")).to_have_count(1)
    assert studio.clip(clip_id)["status"] == "queued"
    navigations = Navigations(page)
    with queued_app.app_context():
        assert pipeline.process_clip(clip_id)
    assert studio.clip(clip_id)["status"] == "ready"

    player = page.locator("video#player")
    expect(player).to_have_attribute("src", re.compile(f"/clips/{clip_id}/media/"))
    page.wait_for_timeout(WATCH_MS)  # the clip has ended: at most the one reload it calls for
    assert navigations.count <= 1, (
        f"the page reloaded {navigations.count} times after the clip was ready: {navigations.urls}"
    )
    expect(player).to_be_visible()
    expect(page.locator(".clip-status .status-label")).to_have_text("Ready")
    expect(page.locator("#clip-failed")).to_have_count(0)
    expect(page.locator("#composer")).to_be_visible()
