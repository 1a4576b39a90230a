"""In a real browser, with the media in S3: a page that plays the fast path's quick copy
while the clip is processed moves to the web rendition when the clip is ready. The quick
copy is deleted then, and the presigned link the player holds would fail at its next
Range request."""

from __future__ import annotations

import re
import secrets
import threading
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import ConsoleLog, signed_in_page
from tests.browser.test_upload import (
    PROCESSING_TIMEOUT_MS,
    SEEK_AND_PLAY,
    WAIT_FOR_METADATA,
    new_partnership,
    upload_through_page,
)
from tests.conftest import BUCKET, serving
from videocoach.clips import files
from workers import pipeline


@pytest.fixture
def s3_queued_app(app: Flask, make_app, s3_endpoint: str) -> Flask:
    """Media in the test bucket; no worker: the test runs the job."""
    return make_app(
        VIDEOCOACH_STORAGE=f"s3://{BUCKET}/browser-{secrets.token_hex(4)}",
        S3_ENDPOINT_URL=s3_endpoint,
    )


def test_a_page_playing_the_quick_copy_moves_to_the_web_rendition_when_ready(
    s3_queued_app: Flask,
    s3_endpoint: str,
    new_page,
    make_user,
    api_for,
    phone_clip: Path,
    console: ConsoleLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hold the job between the fast path and the transcode, as a long transcode would.
    reached_transcode, go_on = threading.Event(), threading.Event()
    transcode = pipeline.step_transcode

    def transcode_when_allowed(*args):
        reached_transcode.set()
        assert go_on.wait(timeout=60)
        return transcode(*args)

    monkeypatch.setattr(pipeline, "step_transcode", transcode_when_allowed)
    teacher = make_user("Tess")
    pid = new_partnership(api_for, teacher)
    with serving(s3_queued_app) as base:
        page = signed_in_page(new_page, base, teacher)
        from_bucket: list[tuple[str, int]] = []  # (object name, status) of each media fetch
        page.on(
            "response",
            lambda response: (
                from_bucket.append((response.url.split("?")[0].rsplit("/", 1)[-1], response.status))
                if response.url.startswith(s3_endpoint)
                else None
            ),
        )
        clip_url = upload_through_page(page, base, pid, phone_clip, "Quick", wait_ready=False)

        def work() -> None:
            with s3_queued_app.app_context():
                pipeline.process_clip(clip_url.rsplit("/", 1)[-1])

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        player = page.locator("video#player")
        try:
            assert reached_transcode.wait(timeout=60)
            expect(player).to_have_attribute("src", re.compile(r"/media/"))
            player.evaluate(WAIT_FOR_METADATA)
            player.evaluate("video => { video.currentTime = 1; }")
            assert {name for name, _ in from_bucket if name.endswith(".mp4")} == {files.PLAYABLE}
        finally:
            go_on.set()
            worker.join(timeout=120)

        expect(page.locator(".clip-status .status-label")).to_have_text(
            "Ready", timeout=PROCESSING_TIMEOUT_MS
        )
        for _ in range(150):  # the player fetches the web rendition from the bucket
            if any(name == files.WEB for name, _ in from_bucket):
                break
            page.wait_for_timeout(100)
        assert any(name == files.WEB for name, _ in from_bucket), from_bucket
        player.evaluate(WAIT_FOR_METADATA)
        assert player.evaluate("video => video.currentTime") == pytest.approx(1, abs=0.1)
        played = player.evaluate(SEEK_AND_PLAY)  # a Range request to the web rendition
        assert played["playedTo"] > played["afterSeek"]
    assert [status for _, status in from_bucket if status >= 400] == []
    assert console.problems() == []
