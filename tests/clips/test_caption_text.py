"""A caption track whose text holds `<`, `&` or `-->` reaches the player whole: ffmpeg's
WebVTT encoder copies subtitle text as it is, and a browser would end the cue at "<15%"
(or start a new cue at "-->"); the pipeline repairs what it wrote, keeping real tags."""

from __future__ import annotations

import io
import subprocess
from html import unescape
from pathlib import Path

import webvtt

from tests.media.samples import CAPTION_VIDEO, CAPTION_X264, FFMPEG
from videocoach.media.webvtt import repair_captions

CUES = [
    "Only 3 of 24 hands up (<15%) & you moved on",
    "Wait --> then ask",
    "<i>Quietly</i> & calmly",
]


def captioned_clip(directory: Path) -> Path:
    srt = directory / "tricky.srt"
    srt.write_text(
        "".join(
            f"{n}\n00:00:0{n - 1},000 --> 00:00:0{n - 1},900\n{text}\n\n"
            for n, text in enumerate(CUES, start=1)
        ),
        encoding="utf-8",
    )
    clip = directory / "tricky.mkv"
    inputs = [*CAPTION_VIDEO, "-i", str(srt), "-map", "0", "-map", "1"]
    outputs = [*CAPTION_X264, "-c:s", "srt", str(clip)]
    subprocess.run(
        [FFMPEG, "-nostdin", "-y", "-loglevel", "error", *inputs, *outputs],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return clip


def test_caption_text_with_markup_characters_survives_the_pipeline(studio, tmp_path):
    clip_id = studio.upload(captioned_clip(tmp_path)).json["clip"]["id"]
    clip = studio.clip(clip_id)
    assert clip["status"] == "ready", clip["error"]
    vtt = studio.get(clip["captions"][0]["url"]).get_data(as_text=True)
    cues = list(webvtt.from_buffer(io.StringIO(vtt)))
    assert [unescape(cue.text) for cue in cues] == [
        "Only 3 of 24 hands up (<15%) & you moved on",
        "Wait --> then ask",
        "Quietly & calmly",  # webvtt-py drops tags, as a player renders them
    ]
    assert "<i>Quietly</i> &amp; calmly" in vtt  # the italics are kept


def test_repair_keeps_webvtt_markup_and_is_idempotent():
    written = (
        "WEBVTT\n\nNOTE made by ffmpeg\n\n"
        "1\n00:00.000 --> 00:01.000 align:start\n"
        '<c.yellow>1 < 2</c> <v Ana & Bo>hi</v> <00:00.500>&nbsp;"&amp;" & &bogus;\n\n'
        "00:01.000 --> 00:02.000\nline\n\nrest --> of it\n"
    )
    repaired = repair_captions(written)
    assert repaired == (
        "WEBVTT\n\nNOTE made by ffmpeg\n\n"
        "1\n00:00.000 --> 00:01.000 align:start\n"
        '<c.yellow>1 &lt; 2</c> <v Ana & Bo>hi</v> <00:00.500>&nbsp;"&amp;" &amp; &amp;bogus;\n\n'
        "00:01.000 --> 00:02.000\nline\nrest --&gt; of it\n"
    )
    assert repair_captions(repaired) == repaired
