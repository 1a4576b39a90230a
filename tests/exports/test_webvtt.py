"""The WebVTT export shows each comment's text exactly, whatever it holds (`<`, `&`, `-->`,
several lines), read back by an independent parser (webvtt-py, which leaves character
references as they are: html.unescape decodes them as a browser does). Chromium's own
parser reads the same export in tests/browser/test_webvtt.py."""

from __future__ import annotations

import io
from html import unescape

import webvtt
from sqlalchemy import update

from tests.partnerships.test_home_and_goals import add_clip, comment
from videocoach import db
from videocoach.accounts.models import User
from videocoach.media import webvtt as our_webvtt

BODIES = [
    "Only 3 of 24 hands up (<15%) & you moved on",
    "Note to self --> later",
    "First line\n\nSecond <b>line</b>\n   \nthird & <i>last</i>",
    "&amp; is how HTML writes &, and &lt; <",
    "<v Someone else>not a voice</v> <00:00:01.000>",
]


def shown(body: str) -> str:
    """What a player should show for a comment: its lines, without blank ones."""
    return "\n".join(line for line in body.split("\n") if line.strip())


def export(pair, browser_for, clip_id: str) -> str:
    with pair.app.app_context():
        teacher = db.session.get(User, pair.teacher_id)
    response = browser_for(teacher).get(f"/clips/{clip_id}/comments.vtt")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_export_keeps_every_comment_text_exactly(pair, browser_for):
    clip_id = add_clip(pair, "Fractions", None)
    for second, body in enumerate(BODIES, start=1):
        comment(pair, clip_id, body=body, t_start=second)
    cues = list(webvtt.from_buffer(io.StringIO(export(pair, browser_for, clip_id))))
    assert [unescape(cue.text) for cue in cues] == [f"[note] {shown(body)}" for body in BODIES]
    assert {unescape(cue.voice) for cue in cues} == {"Tess"}


def test_a_name_stored_with_a_line_break_stays_one_voice(pair, browser_for):
    """Names stored before names were cleaned may hold anything; the export stays valid."""
    clip_id = add_clip(pair, "Fractions", None)
    comment(pair, clip_id, body="Wait time", t_start=1)
    with pair.app.app_context():
        db.session.execute(
            update(User).where(User.id == pair.teacher_id).values(name="Tess\nR & <B>\x1b[31m")
        )
        db.session.commit()
    text = export(pair, browser_for, clip_id)
    (cue,) = webvtt.from_buffer(io.StringIO(text))
    assert unescape(cue.text) == "[note] Wait time"
    assert unescape(cue.voice) == "Tess R & <B>[31m"
    assert "\x1b" not in text


def test_escaping_helpers():
    assert our_webvtt.escape("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d"
    assert our_webvtt.cue_text("x --> y\r\n\r\n z\x00") == "x --&gt; y\n z"
    assert our_webvtt.annotation("Ana\n<B> & C\u202e") == "Ana &lt;B&gt; &amp; C"
