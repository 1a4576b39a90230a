"""Argument builders, checked without running ffmpeg."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from videocoach.media.commands import (
    StoryboardLayout,
    poster_seek_args,
    remux_args,
    rendition_size,
    storyboard_layout,
    transcode_args,
    transcode_filter_graph,
    web_fps,
)
from videocoach.media.probe import ProbeFacts

PHONE = ProbeFacts(
    format_name="mov,mp4,m4a,3gp,3g2,mj2",
    duration_s=300.0,
    size_bytes=10**8,
    video_codec="h264",
    video_profile="High",
    pix_fmt="yuv420p",
    width=1920,
    height=1080,
    fps=30.0,
    audio_codec="aac",
    audio_channels=2,
    has_video=True,
    video_index=0,
    audio_index=1,
)
SILENT = replace(PHONE, audio_codec=None, audio_channels=None, audio_index=None)
SRC = Path("/srv/videocoach/work/original")
OUT = Path("/srv/videocoach/work/out")


def value_after(args: list[str], flag: str, occurrence: int = 0) -> str:
    positions = [i for i, arg in enumerate(args) if arg == flag]
    return args[positions[occurrence] + 1]


@pytest.mark.parametrize(
    ("width", "height", "rotation", "max_height", "expected"),
    [
        (1920, 1080, 0, 720, (1280, 720)),
        (1080, 1920, 0, 720, (720, 1280)),
        (1920, 1080, 90, 720, (720, 1280)),
        (1920, 1080, 270, 720, (720, 1280)),
        (1920, 1080, 180, 720, (1280, 720)),
        (3840, 2160, 0, 720, (1280, 720)),
        (3840, 2160, 0, 1080, (1920, 1080)),
        (1280, 720, 0, 720, (1280, 720)),
        (640, 480, 0, 720, (640, 480)),  # never upscaled
        (320, 240, 90, 720, (240, 320)),
        (1440, 1080, 0, 720, (960, 720)),
        (853, 481, 0, 720, (852, 480)),  # odd sizes become even, rounding down
        (1920, 1088, 0, 720, (1270, 720)),
    ],
)
def test_rendition_size(
    width: int, height: int, rotation: int, max_height: int, expected: tuple[int, int]
) -> None:
    facts = replace(PHONE, width=width, height=height, rotation=rotation)
    size = rendition_size(facts, max_height)
    assert size == expected
    assert size[0] % 2 == 0 and size[1] % 2 == 0


def test_rendition_size_honours_anamorphic_pixels() -> None:
    dv = replace(PHONE, width=720, height=576, sample_aspect_ratio=16 / 15)
    assert rendition_size(dv) == (768, 576)


@pytest.mark.parametrize(
    ("duration", "interval", "count", "sheets"),
    [
        (3, 2, 2, 1),
        (4.1, 2, 3, 1),
        (200, 2, 100, 1),
        (201, 2, 101, 2),
        (600, 2, 300, 3),
        (601, 5, 121, 2),
        (1500, 5, 300, 3),
        (3600, 15, 240, 3),
        (4 * 3600, 60, 240, 3),
        (10 * 3600, 60, 600, 6),
    ],
)
def test_storyboard_layout(duration: float, interval: int, count: int, sheets: int) -> None:
    layout = storyboard_layout(duration, 1280, 720)
    assert (layout.interval_s, layout.count, layout.sheets) == (interval, count, sheets)
    assert (layout.thumb_w, layout.thumb_h, layout.columns, layout.rows) == (160, 90, 10, 10)


def test_storyboard_thumbs_keep_aspect_and_stay_even() -> None:
    assert storyboard_layout(10, 720, 1280).thumb_h == 284
    assert storyboard_layout(10, 640, 480).thumb_h == 120
    assert storyboard_layout(10, 1440, 1080).thumb_h % 2 == 0


def test_remux_copies_first_video_and_audio_with_faststart() -> None:
    args = remux_args(SRC, OUT / "fast.mp4", PHONE, ffmpeg="/usr/bin/ffmpeg")
    assert args[0] == "/usr/bin/ffmpeg"
    assert value_after(args, "-c") == "copy"
    assert value_after(args, "-movflags") == "+faststart"
    assert [value_after(args, "-map", i) for i in range(2)] == ["0:0", "0:1"]
    assert value_after(args, "-i") == f"file:{SRC}"
    assert args[-1] == f"file:{OUT / 'fast.mp4'}"
    assert value_after(args, "-progress") == "pipe:1"
    assert {"-nostdin", "-y", "-hide_banner", "-nostats"} <= set(args)


def test_remux_without_audio_maps_only_video() -> None:
    args = remux_args(SRC, OUT / "fast.mp4", SILENT)
    assert args.count("-map") == 1


def test_every_argument_is_a_plain_string_for_exec_not_a_shell_line() -> None:
    layout = storyboard_layout(300, 1280, 720)
    for args in (
        remux_args(SRC, OUT / "fast.mp4", PHONE),
        transcode_args(SRC, OUT, PHONE, layout),
        poster_seek_args(SRC, OUT / "poster.jpg", 1.0, PHONE),
    ):
        assert all(isinstance(arg, str) for arg in args)
        assert args[0] == "ffmpeg"
        # The only arguments with spaces or shell metacharacters would be paths; there are none.
        assert not any(" " in arg or "|" in arg or "&&" in arg for arg in args if "=" not in arg)


def test_transcode_graph_splits_one_decode_three_ways() -> None:
    layout = storyboard_layout(300, 1280, 720)
    graph = transcode_filter_graph(PHONE, layout)
    assert graph.startswith("[0:0]split=3[web_in][storyboard_in][poster_in]")
    assert "[web_in]fps=30,scale=1280:720,setsar=1,format=yuv420p[web]" in graph
    assert "fps=1/2:eof_action=pass,scale=160:90,setsar=1,tile=10x10[storyboard]" in graph
    assert "[poster_in]fps=8/300.000:eof_action=pass,scale=1280:720,setsar=1[posters]" in graph


def test_transcode_args_web_rendition() -> None:
    layout = storyboard_layout(300, 1280, 720)
    args = transcode_args(SRC, OUT, PHONE, layout, crf=21, preset="faster")
    assert args.count("-i") == 1  # one process, one decode
    assert value_after(args, "-filter_complex") == transcode_filter_graph(PHONE, layout)
    assert value_after(args, "-c:v") == "libx264"
    assert value_after(args, "-profile:v") == "high"
    assert value_after(args, "-pix_fmt") == "yuv420p"
    assert value_after(args, "-crf") == "21"
    assert value_after(args, "-preset") == "faster"
    assert value_after(args, "-g") == "60"
    assert value_after(args, "-keyint_min") == "60"
    assert value_after(args, "-sc_threshold") == "0"
    assert value_after(args, "-fps_mode") == "cfr"
    assert value_after(args, "-movflags") == "+faststart"
    assert value_after(args, "-c:a") == "aac"
    assert value_after(args, "-b:a") == "128k"
    assert value_after(args, "-ac") == "2"
    web = args.index(f"file:{OUT / 'web.mp4'}")
    maps = [args[i + 1] for i, arg in enumerate(args[:web]) if arg == "-map"]
    assert maps == ["[web]", "0:1"]


def test_transcode_args_images_and_waveform() -> None:
    layout = storyboard_layout(450, 1280, 720)
    args = transcode_args(SRC, OUT, PHONE, layout, poster_candidates=6)
    assert layout.sheets == 3
    sheet_out = args.index(f"file:{OUT / 'storyboard-%03d.jpg'}")
    window = args[args.index("[storyboard]") - 1 : sheet_out]
    assert window[:4] == ["-map", "[storyboard]", "-frames:v", "3"]
    assert value_after(window, "-start_number") == "0"
    assert "[posters]" in args
    assert value_after(args, "-frames:v", 1) == "6"
    assert f"file:{OUT / 'poster-cand-%02d.jpg'}" in args
    assert args[-1] == f"file:{OUT / 'waveform.pcm'}"
    tail = args[args.index("-map", args.index("[posters]") + 1) :]
    assert tail[:2] == ["-map", "0:1"]
    assert tail[2:10] == ["-ac", "1", "-ar", "4000", "-c:a", "pcm_s16le", "-f", "s16le"]


def test_transcode_without_audio_has_no_audio_outputs() -> None:
    args = transcode_args(SRC, OUT, SILENT, storyboard_layout(300, 1280, 720))
    assert "-c:a" not in args
    assert not any("waveform" in arg for arg in args)
    assert args.count("-map") == 3


def test_transcode_turns_rotated_phone_video_upright() -> None:
    portrait = replace(PHONE, rotation=90)
    graph = transcode_filter_graph(portrait, storyboard_layout(300, 720, 1280))
    # ffmpeg's autorotation has already turned the frames; no transpose of our own.
    assert "transpose" not in graph
    assert "scale=720:1280" in graph
    assert "scale=160:284" in graph
    assert "-noautorotate" not in transcode_args(SRC, OUT, portrait, storyboard_layout(1, 9, 16))


def test_transcode_normalises_frame_rate() -> None:
    assert web_fps(replace(PHONE, fps=59.94)) == 30
    assert web_fps(replace(PHONE, fps=29.97)) == 30
    assert web_fps(replace(PHONE, fps=25.0)) == 25
    assert web_fps(replace(PHONE, fps=None)) == 30
    assert web_fps(replace(PHONE, fps=21.4, is_vfr=True)) == 30
    args = transcode_args(SRC, OUT, replace(PHONE, fps=25.0), storyboard_layout(300, 1280, 720))
    assert value_after(args, "-g") == "50"


def test_hdr_source_is_tone_mapped_before_the_split() -> None:
    hdr = replace(PHONE, video_codec="hevc", color_transfer="arib-std-b67", bit_depth=10)
    graph = transcode_filter_graph(hdr, storyboard_layout(300, 1280, 720))
    assert graph.index("tonemap") < graph.index("split=3")


def test_transcode_refuses_a_pattern_character_in_the_output_folder() -> None:
    with pytest.raises(ValueError, match="%"):
        transcode_args(SRC, Path("/srv/videocoach/100%"), PHONE, storyboard_layout(300, 1280, 720))


def test_poster_seek_puts_ss_before_input() -> None:
    args = poster_seek_args(SRC, OUT / "poster.jpg", 1.5, PHONE)
    assert args.index("-ss") < args.index("-i")
    assert value_after(args, "-ss") == "1.500"
    assert value_after(args, "-frames:v") == "1"
    assert value_after(args, "-vf") == "scale=1280:720,setsar=1"
    assert args[-1] == f"file:{OUT / 'poster.jpg'}"


def test_poster_seek_stays_inside_a_short_clip() -> None:
    args = poster_seek_args(SRC, OUT / "poster.jpg", 10.0, replace(PHONE, duration_s=2.0))
    assert value_after(args, "-ss") == "1.900"


def test_layout_dataclass_sheet_size() -> None:
    layout = StoryboardLayout(2, 160, 90, 10, 10, 150, 2)
    assert (layout.per_sheet, layout.sheet_w, layout.sheet_h) == (100, 1600, 900)
