"""Chromium's own WebVTT parser shows the comments export exactly as the comments were
written (`cue.getCueAsHTML().textContent`), with the author as the cue's voice, and a
caption track ffmpeg wrote with `<`, `&` or `-->` in it is shown whole once repaired.
Before: "Only 3 of 24 hands up (<15%) & you moved on" showed as "Only 3 of 24 hands up (".
"""

from __future__ import annotations

from playwright.sync_api import Page

from tests.conftest import PASSWORD
from tests.exports.test_webvtt import BODIES, shown
from tests.helpers.chromium import sign_in_with
from tests.partnerships.test_home_and_goals import add_clip, comment
from videocoach import db
from videocoach.accounts.models import User
from videocoach.media.webvtt import repair_captions

READ_TRACK = """async ([src, text]) => {
  const video = document.createElement("video");
  const track = document.createElement("track");
  track.kind = "subtitles";
  track.src = src || URL.createObjectURL(new Blob([text], {type: "text/vtt"}));
  video.append(track);
  document.body.append(video);
  track.track.mode = "hidden";
  await new Promise((resolve, reject) => {
    track.addEventListener("load", resolve);
    track.addEventListener("error", () => reject(new Error("the track did not load")));
  });
  return Array.from(track.track.cues, (cue) => {
    const html = cue.getCueAsHTML();
    const voice = Array.from(html.childNodes).find((node) => node.nodeName === "SPAN");
    return {text: html.textContent, voice: voice ? voice.title : null};
  });
}"""


def cues_of(page: Page, src: str = "", text: str = "") -> list[dict[str, str | None]]:
    return page.evaluate(READ_TRACK, [src, text])


def test_chromium_shows_the_exported_comments_exactly(live_server: str, pair, page: Page):
    clip_id = add_clip(pair, "Fractions", None)
    for second, body in enumerate(BODIES, start=1):
        comment(pair, clip_id, body=body, t_start=second)
    with pair.app.app_context():
        email = db.session.get(User, pair.teacher_id).email
    sign_in_with(page, live_server, email, PASSWORD)
    page.goto(f"{live_server}/account")
    cues = cues_of(page, src=f"/clips/{clip_id}/comments.vtt")
    assert cues == [{"text": f"[note] {shown(body)}", "voice": "Tess"} for body in BODIES]


def test_chromium_shows_repaired_captions_whole(page: Page):
    written_by_ffmpeg = (
        "WEBVTT\n\n"
        "00:00.000 --> 00:01.000\nOnly 3 of 24 hands up (<15%) & you moved on\n\n"
        "00:01.000 --> 00:02.000\n<i>a --> b</i> &amp; c\n\n"
        "00:02.000 --> 00:03.000\nfirst part\n\nsecond part\n"
    )
    page.set_content("<!doctype html><title>captions</title>")
    cues = cues_of(page, text=repair_captions(written_by_ffmpeg))
    assert [cue["text"] for cue in cues] == [
        "Only 3 of 24 hands up (<15%) & you moved on",
        "a --> b & c",
        "first part\nsecond part",
    ]
