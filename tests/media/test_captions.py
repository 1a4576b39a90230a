"""Caption tracks: found by the probe, turned into WebVTT by one ffmpeg run."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.media.samples import (
    ENGLISH_CUES,
    FFMPEG,
    FFPROBE,
    SPANISH_CUES,
    SPANISH_TITLE,
    make_captioned_samples,
)
from videocoach.media.commands import caption_file_names, captions_args, language_name
from videocoach.media.probe import ProbeFacts, SubtitleStream, parse_probe, probe


@pytest.fixture(scope="session")
def captioned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_captioned_samples(tmp_path_factory.mktemp("captioned"))


# --- parsing -------------------------------------------------------------------------


def test_probe_finds_the_mov_text_track(captioned: dict[str, Path]) -> None:
    facts = probe(captioned["captioned.mp4"], FFPROBE)
    assert facts.has_video and facts.has_audio
    assert facts.subtitle_streams == (
        SubtitleStream(index=2, codec="mov_text", language="eng", title=None),
    )
    assert facts.text_subtitles == facts.subtitle_streams


def test_probe_finds_both_srt_tracks_in_order(captioned: dict[str, Path]) -> None:
    facts = probe(captioned["captioned_two.mkv"], FFPROBE)
    assert [(s.index, s.codec, s.language) for s in facts.subtitle_streams] == [
        (1, "subrip", "eng"),
        (2, "subrip", "spa"),
    ]
    assert len(facts.text_subtitles) == 2


def _fake_probe(*streams: dict[str, object]) -> str:
    return json.dumps(
        {
            "format": {"format_name": "matroska,webm", "duration": "10.0"},
            "streams": [
                {
                    "index": 0,
                    "codec_type": "video",
                    "codec_name": "h264",
                    "width": 640,
                    "height": 480,
                    "avg_frame_rate": "25/1",
                    "r_frame_rate": "25/1",
                },
                *streams,
            ],
        }
    )


def test_bitmap_subtitles_are_kept_as_facts_but_not_as_text() -> None:
    facts = parse_probe(
        _fake_probe(
            {"index": 1, "codec_type": "subtitle", "codec_name": "dvd_subtitle"},
            {
                "index": 2,
                "codec_type": "subtitle",
                "codec_name": "ass",
                "tags": {"language": "fre", "title": "Coach's notes"},
            },
            {"index": 3, "codec_type": "subtitle", "codec_name": "hdmv_pgs_subtitle"},
            {"index": 4, "codec_type": "subtitle", "codec_name": "webvtt"},
        ),
        1000,
    )
    assert [s.codec for s in facts.subtitle_streams] == [
        "dvd_subtitle",
        "ass",
        "hdmv_pgs_subtitle",
        "webvtt",
    ]
    assert facts.text_subtitles == (
        SubtitleStream(index=2, codec="ass", language="fre", title="Coach's notes"),
        SubtitleStream(index=4, codec="webvtt", language=None, title=None),
    )


def test_subtitle_streams_without_a_codec_or_index_are_ignored() -> None:
    facts = parse_probe(
        _fake_probe(
            {"index": 1, "codec_type": "subtitle"},
            {"codec_type": "subtitle", "codec_name": "subrip"},
            {"index": 3, "codec_type": "data", "codec_name": "bin_data"},
        ),
        1000,
    )
    assert facts.subtitle_streams == ()
    assert facts.text_subtitles == ()


def test_audio_only_file_keeps_its_subtitles() -> None:
    text = json.dumps(
        {
            "format": {"format_name": "matroska,webm", "duration": "5"},
            "streams": [
                {"index": 0, "codec_type": "audio", "codec_name": "opus"},
                {"index": 1, "codec_type": "subtitle", "codec_name": "subrip"},
            ],
        }
    )
    assert parse_probe(text, 10).subtitle_streams == (SubtitleStream(1, "subrip"),)


def test_no_subtitles_by_default() -> None:
    assert ProbeFacts(format_name="mp4", duration_s=1.0, size_bytes=1).subtitle_streams == ()


# --- argument lists, without running ffmpeg ----------------------------------------

FACTS = ProbeFacts(
    format_name="matroska,webm",
    duration_s=10.0,
    size_bytes=1000,
    video_codec="h264",
    has_video=True,
    width=640,
    height=480,
    video_index=0,
    subtitle_streams=(
        SubtitleStream(index=2, codec="hdmv_pgs_subtitle", language="eng"),
        SubtitleStream(index=3, codec="subrip", language="eng"),
        SubtitleStream(index=5, codec="mov_text", language="spa"),
    ),
)
SRC = Path("/srv/videocoach/work/-i original")
OUT = Path("/srv/videocoach/work/out")


def test_captions_args_is_one_run_with_one_output_per_text_track() -> None:
    args = captions_args(SRC, OUT, FACTS, ffmpeg="/usr/bin/ffmpeg")
    assert all(isinstance(arg, str) for arg in args)
    assert args[0] == "/usr/bin/ffmpeg"
    # ffmpeg-python writes the global options after the last output; ffmpeg reads them there.
    assert args[-6:] == ["-nostdin", "-y", "-hide_banner", "-loglevel", "warning", "-nostats"]
    assert args.count("-i") == 1
    assert args[1:3] == ["-i", f"file:{SRC}"]
    per_output = args[3:-6]
    assert per_output == [
        "-map",
        "0:3",
        "-f",
        "webvtt",
        "-c:s",
        "webvtt",
        f"file:{OUT}/captions-0.vtt",
        "-map",
        "0:5",
        "-f",
        "webvtt",
        "-c:s",
        "webvtt",
        f"file:{OUT}/captions-1.vtt",
    ]
    # The bitmap track (index 2) is never mapped.
    assert "0:2" not in args


def test_captions_args_empty_without_text_tracks() -> None:
    bitmap_only = replace(FACTS, subtitle_streams=FACTS.subtitle_streams[:1])
    assert captions_args(SRC, OUT, bitmap_only) == []
    assert captions_args(SRC, OUT, replace(FACTS, subtitle_streams=())) == []


def test_caption_file_names_line_up_with_the_outputs() -> None:
    names = caption_file_names(FACTS)
    assert names == [("captions-0.vtt", "eng", "English"), ("captions-1.vtt", "spa", "Spanish")]
    outputs = [a for a in captions_args(SRC, OUT, FACTS) if a.endswith(".vtt")]
    assert outputs == [f"file:{OUT / name}" for name, _, _ in names]


def test_caption_labels_prefer_title_then_language_then_number() -> None:
    facts = replace(
        FACTS,
        subtitle_streams=(
            SubtitleStream(index=1, codec="subrip", language="eng", title="Coach commentary"),
            SubtitleStream(index=2, codec="subrip", language="en"),
            SubtitleStream(index=3, codec="subrip", language="und"),
            SubtitleStream(index=4, codec="subrip", language="tlh"),
            SubtitleStream(index=5, codec="subrip"),
        ),
    )
    assert caption_file_names(facts) == [
        ("captions-0.vtt", "eng", "Coach commentary"),
        ("captions-1.vtt", "en", "English"),
        ("captions-2.vtt", None, "Captions 3"),
        ("captions-3.vtt", "tlh", "Captions 4"),
        ("captions-4.vtt", None, "Captions 5"),
    ]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("eng", "English"),
        ("en", "English"),
        ("EN-us", "English"),
        ("spa", "Spanish"),
        ("es", "Spanish"),
        ("fre", "French"),
        ("fra", "French"),
        ("ger", "German"),
        ("und", None),
        ("", None),
        (None, None),
    ],
)
def test_language_name(code: str | None, name: str | None) -> None:
    assert language_name(code) == name


# --- running it ----------------------------------------------------------------------


def _run_captions(src: Path, out_dir: Path) -> list[tuple[str, str | None, str]]:
    facts = probe(src, FFPROBE)
    out_dir.mkdir()
    args = captions_args(src, out_dir, facts, ffmpeg=FFMPEG)
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    return caption_file_names(facts)


def test_mp4_captions_become_webvtt(captioned: dict[str, Path], tmp_path: Path) -> None:
    names = _run_captions(captioned["captioned.mp4"], tmp_path / "out")
    assert names == [("captions-0.vtt", "eng", "English")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["captions-0.vtt"]
    vtt = (tmp_path / "out" / "captions-0.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    assert "-->" in vtt
    for cue in ENGLISH_CUES:
        assert cue in vtt


def test_two_mkv_tracks_become_two_webvtt_files(captioned: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    names = _run_captions(captioned["captioned_two.mkv"], out)
    assert names == [
        ("captions-0.vtt", "eng", "English"),
        ("captions-1.vtt", "spa", SPANISH_TITLE),  # a track's own title wins
    ]
    english = (out / "captions-0.vtt").read_text(encoding="utf-8")
    spanish = (out / "captions-1.vtt").read_text(encoding="utf-8")
    assert english.startswith("WEBVTT") and spanish.startswith("WEBVTT")
    assert all(cue in english for cue in ENGLISH_CUES)
    assert all(cue in spanish for cue in SPANISH_CUES)  # UTF-8 survives: "¡Codo alto!"
    assert not any(cue in english for cue in SPANISH_CUES)


def test_captions_cut_to_the_shared_part_drop_muted_cues_and_start_at_zero():
    from videocoach.media import webvtt

    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.500\nbefore and across the start\n\n"
        "00:00:04.000 --> 00:00:05.000 align:start\nthe muted name\n\n"
        "00:00:05.500 --> 00:00:06.500\ninside\n\n00:00:09.000 --> 00:00:10.000\nafter\n"
    )
    assert webvtt.cut_captions(vtt, 2.0, 8.0, [(4.2, 4.5)]) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nbefore and across the start\n\n"
        "00:00:03.500 --> 00:00:04.500\ninside\n"
    )
