"""Argument builders, checked without running ffmpeg.

ffmpeg-python compiles the lists: it names filter links s0, s1, ..., writes each output's
options with -map first, then -f, then the rest sorted, and puts the global options after
the last output. The helpers below read the lists by meaning, not by position.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from tests.media.facts import phone_facts
from videocoach.media.commands import (
    COMMON_FLAGS,
    PROGRESS_FLAGS,
    StoryboardLayout,
    poster_seek_args,
    progress_track,
    remux_args,
    rendition_size,
    storyboard_layout,
    transcode_args,
    web_fps,
)

PHONE = phone_facts(duration_s=300.0, size_bytes=10**8, video_index=0, audio_index=1)
SILENT = replace(PHONE, audio_codec=None, audio_channels=None, audio_index=None)
SRC = Path("/srv/videocoach/work/original")
OUT = Path("/srv/videocoach/work/out")


def value_after(args: list[str], flag: str, occurrence: int = 0) -> str:
    positions = [i for i, arg in enumerate(args) if arg == flag]
    return args[positions[occurrence] + 1]


def outputs(args: list[str]) -> dict[str, list[str]]:
    """Each output's own options, keyed by its "file:" name, in command-line order."""
    start = args.index("-i") + 2
    if args[start : start + 1] == ["-filter_complex"]:
        start += 2
    groups: dict[str, list[str]] = {}
    options: list[str] = []
    for arg in args[start:]:
        if arg.startswith("file:"):
            groups[arg], options = options, []
        else:
            options.append(arg)
    return groups


def global_flags(args: list[str]) -> list[str]:
    """What follows the last output: the options for the whole run."""
    last = max(i for i, arg in enumerate(args) if arg.startswith("file:"))
    return args[last + 1 :]


LINK = re.compile(r"\[([^\]]+)\]")
LINKS = r"(?:\[[^\]]+\])*"


def filter_chain(args: list[str], mapped: str) -> tuple[str, list[str]]:
    """The input stream, and the filters in order, that make a -map'ed link such as "[s6]"."""
    made_by: dict[str, tuple[list[str], str]] = {}
    for spec in value_after(args, "-filter_complex").split(";"):
        inputs = re.match(LINKS, spec).group()
        produced = re.search(LINKS + "$", spec).group()
        for label in LINK.findall(produced):
            made_by[label] = (LINK.findall(inputs), spec[len(inputs) : len(spec) - len(produced)])
    filters: list[str] = []
    label = mapped.strip("[]")
    while label in made_by:
        inputs, spec = made_by[label]
        filters.insert(0, spec)
        label = inputs[0]
    return label, filters


def output_chain(args: list[str], file_name: str) -> tuple[str, list[str]]:
    return filter_chain(args, value_after(outputs(args)[file_name], "-map"))


WEB = f"file:{OUT / 'web.mp4'}"
SHEETS = f"file:{OUT / 'storyboard-%03d.jpg'}"
POSTERS = f"file:{OUT / 'poster-cand-%02d.jpg'}"
PCM = f"file:{OUT / 'waveform.pcm'}"


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
    assert list(outputs(args)) == [f"file:{OUT / 'fast.mp4'}"]
    assert value_after(args, "-f") == "mp4"
    assert value_after(args, "-map_metadata") == "-1"
    assert value_after(args, "-map_chapters") == "-1"
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


def test_every_run_is_quiet_non_interactive_and_overwrites() -> None:
    layout = storyboard_layout(300, 1280, 720)
    progress = [*COMMON_FLAGS, *PROGRESS_FLAGS]
    assert global_flags(remux_args(SRC, OUT / "fast.mp4", PHONE)) == progress
    assert global_flags(transcode_args(SRC, OUT, PHONE, layout)) == progress
    assert global_flags(poster_seek_args(SRC, OUT / "poster.jpg", 1.0, PHONE)) == COMMON_FLAGS
    assert COMMON_FLAGS == ["-nostdin", "-y", "-hide_banner", "-loglevel", "warning", "-nostats"]


def test_transcode_graph_splits_one_decode_three_ways() -> None:
    args = transcode_args(SRC, OUT, PHONE, storyboard_layout(300, 1280, 720))
    assert value_after(args, "-filter_complex").count("split=") == 1
    assert output_chain(args, WEB) == (
        "0:0",
        ["split=3", "fps=30", "scale=1280:720", "setsar=1", "format=yuv420p"],
    )
    assert output_chain(args, SHEETS) == (
        "0:0",
        ["split=3", "fps=1/2:eof_action=pass", "scale=160:90", "setsar=1", "tile=10x10"],
    )
    assert output_chain(args, POSTERS) == (
        "0:0",
        ["split=3", "fps=8/300.000:eof_action=pass", "scale=1280:720", "setsar=1"],
    )


def test_transcode_args_web_rendition() -> None:
    layout = storyboard_layout(300, 1280, 720)
    args = transcode_args(SRC, OUT, PHONE, layout, crf=21, preset="faster")
    assert args.count("-i") == 1  # one process, one decode
    assert list(outputs(args)) == [WEB, SHEETS, POSTERS, PCM]
    web = outputs(args)[WEB]
    assert value_after(web, "-f") == "mp4"
    assert value_after(web, "-c:v") == "libx264"
    assert value_after(web, "-profile:v") == "high"
    assert value_after(web, "-pix_fmt") == "yuv420p"
    assert value_after(web, "-crf") == "21"
    assert value_after(web, "-preset") == "faster"
    assert value_after(web, "-g") == "60"
    assert value_after(web, "-keyint_min") == "60"
    assert value_after(web, "-sc_threshold") == "0"
    assert value_after(web, "-fps_mode") == "cfr"
    assert value_after(web, "-movflags") == "+faststart"
    assert value_after(web, "-map_metadata") == "-1"
    assert value_after(web, "-map_chapters") == "-1"
    assert value_after(web, "-c:a") == "aac"
    assert value_after(web, "-b:a") == "128k"
    assert value_after(web, "-ac") == "2"
    maps = [web[i + 1] for i, arg in enumerate(web) if arg == "-map"]
    assert len(maps) == 2
    assert filter_chain(args, maps[0])[1][-1] == "format=yuv420p"  # the web branch
    assert maps[1] == "0:1"


def test_transcode_args_images_and_waveform() -> None:
    layout = storyboard_layout(450, 1280, 720)
    args = transcode_args(SRC, OUT, PHONE, layout, poster_candidates=6)
    assert layout.sheets == 3
    sheets = outputs(args)[SHEETS]
    assert output_chain(args, SHEETS)[1][-1] == "tile=10x10"
    assert value_after(sheets, "-frames:v") == "3"
    assert value_after(sheets, "-q:v") == "5"
    assert value_after(sheets, "-start_number") == "0"
    assert value_after(sheets, "-f") == "image2"
    posters = outputs(args)[POSTERS]
    assert output_chain(args, POSTERS)[1][1] == "fps=6/300.000:eof_action=pass"
    assert value_after(posters, "-frames:v") == "6"
    assert value_after(posters, "-q:v") == "2"
    assert value_after(posters, "-start_number") == "0"
    assert value_after(posters, "-f") == "image2"
    assert list(outputs(args))[-1] == PCM
    waveform = outputs(args)[PCM]
    assert waveform[:2] == ["-map", "0:1"]  # the decoded audio itself, not a filter branch
    assert sorted(zip(waveform[2::2], waveform[3::2], strict=True)) == [
        ("-ac", "1"),
        ("-ar", "4000"),
        ("-c:a", "pcm_s16le"),
        ("-f", "s16le"),
        ("-flush_packets", "1"),  # its size is the transcode's progress
    ]
    assert progress_track(OUT, PHONE) == (OUT / "waveform.pcm", 8000)


def test_transcode_without_audio_has_no_audio_outputs_but_a_progress_track() -> None:
    args = transcode_args(SRC, OUT, SILENT, storyboard_layout(300, 1280, 720))
    assert "-c:a" not in args
    assert not any("waveform" in arg for arg in args)
    assert list(outputs(args)) == [WEB, SHEETS, POSTERS, f"file:{OUT / 'progress.gray'}"]
    track = outputs(args)[f"file:{OUT / 'progress.gray'}"]
    assert output_chain(args, f"file:{OUT / 'progress.gray'}") == (
        "0:0",
        ["split=4", "fps=2", "scale=2:2", "format=gray"],
    )
    assert value_after(track, "-f") == "rawvideo"
    assert value_after(track, "-flush_packets") == "1"
    # 2x2 grey pictures, 2 a second: 8 bytes a second of the clip.
    assert progress_track(OUT, SILENT) == (OUT / "progress.gray", 8)


def test_transcode_turns_rotated_phone_video_upright() -> None:
    portrait = replace(PHONE, rotation=90)
    args = transcode_args(SRC, OUT, portrait, storyboard_layout(300, 720, 1280))
    graph = value_after(args, "-filter_complex")
    # ffmpeg's autorotation has already turned the frames; no transpose of our own.
    assert "transpose" not in graph
    assert "scale=720:1280" in output_chain(args, WEB)[1]
    assert "scale=160:284" in output_chain(args, SHEETS)[1]
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
    args = transcode_args(SRC, OUT, hdr, storyboard_layout(300, 1280, 720))
    source, web = output_chain(args, WEB)
    assert source == "0:0"
    assert web[: web.index("split=3")] == [
        "zscale=npl=100:t=linear",
        "format=gbrpf32le",
        "zscale=p=bt709",
        "tonemap=desat=0:tonemap=hable",
        "zscale=m=bt709:r=tv:t=bt709",
        "format=yuv420p",
    ]
    # One tone map before the split serves every branch.
    assert value_after(args, "-filter_complex").count("]tonemap=") == 1
    assert "tonemap=desat=0:tonemap=hable" in output_chain(args, SHEETS)[1]
    sdr = transcode_args(SRC, OUT, PHONE, storyboard_layout(300, 1280, 720))
    assert "tonemap" not in value_after(sdr, "-filter_complex")


def test_transcode_refuses_a_pattern_character_in_the_output_folder() -> None:
    with pytest.raises(ValueError, match="%"):
        transcode_args(SRC, Path("/srv/videocoach/100%"), PHONE, storyboard_layout(300, 1280, 720))


def test_poster_seek_puts_ss_before_input() -> None:
    args = poster_seek_args(SRC, OUT / "poster.jpg", 1.5, PHONE)
    assert args.index("-ss") < args.index("-i")
    assert value_after(args, "-ss") == "1.500"
    assert value_after(args, "-frames:v") == "1"
    assert value_after(args, "-update") == "1"
    assert list(outputs(args)) == [f"file:{OUT / 'poster.jpg'}"]
    assert output_chain(args, f"file:{OUT / 'poster.jpg'}") == (
        "0:0",
        ["scale=1280:720", "setsar=1"],
    )


def test_poster_seek_stays_inside_a_short_clip() -> None:
    args = poster_seek_args(SRC, OUT / "poster.jpg", 10.0, replace(PHONE, duration_s=2.0))
    assert value_after(args, "-ss") == "1.900"


def test_layout_dataclass_sheet_size() -> None:
    layout = StoryboardLayout(2, 160, 90, 10, 10, 150, 2)
    assert (layout.per_sheet, layout.sheet_w, layout.sheet_h) == (100, 1600, 900)
