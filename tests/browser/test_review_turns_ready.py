"""In a real browser: a clip page opened while the clip waits to be processed says so in
the time display (seen: "0:00 / 0:01"), and when the clip turns ready it gets its length,
waveform and storyboard previews without a reload (seen: they stayed empty until one)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleLog
from tests.browser.test_failed_clip import Navigations, teacher_page
from tests.browser.test_upload import PROCESSING_TIMEOUT_MS
from tests.studio import make_studio
from workers import pipeline

# The waveform canvas has drawn something: some pixel is not transparent.
WAVEFORM_DRAWN = """
() => {
  const canvas = document.getElementById("waveform");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i]) return true;
  return false;
}
"""


def test_a_page_opened_while_processing_gets_the_timeline_when_ready(
    queued_app: Flask,
    queued_server: str,
    make_user,
    new_page: Callable[..., Page],
    phone_clip: Path,
    console: ConsoleLog,
) -> None:
    studio = make_studio(queued_app, make_user)
    response = studio.upload(phone_clip, title="Fractions", visibility="shared")
    assert response.status_code == 202, response.json
    clip_id = response.json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "queued"

    page = teacher_page(new_page, queued_server, studio)
    page.goto(f"{queued_server}/clips/{clip_id}")
    expect(page.locator("#review")).to_have_attribute("data-loaded", "true")
    navigations = Navigations(page)
    page.evaluate("window.__samePage = true")
    time_display = page.locator("#time-display")
    expect(time_display).not_to_have_text("0:00 / 0:01")
    expect(time_display).not_to_contain_text("0:00 / 0:0")
    length = page.locator(".facts dt:has-text('Length') + dd")
    expect(length).to_be_hidden()

    with queued_app.app_context():
        assert pipeline.process_clip(clip_id)
    assert studio.clip(clip_id)["status"] == "ready"

    expect(page.locator(".clip-status .status-label")).to_have_text(
        "Ready", timeout=PROCESSING_TIMEOUT_MS
    )
    expect(time_display).to_have_text("0:00 / 0:03")
    expect(length).to_be_visible()
    expect(length).to_have_text("0:03")
    page.wait_for_function(WAVEFORM_DRAWN)

    # Hovering the timeline previews the storyboard frame there.
    box = page.locator("#timeline").bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    thumb = page.locator("#storyboard-thumb")
    expect(thumb).to_be_visible()
    assert "storyboard" in thumb.evaluate("el => getComputedStyle(el).backgroundImage")

    assert page.evaluate("window.__samePage") is True
    assert navigations.count == 0, navigations.urls
    assert console.problems() == []
