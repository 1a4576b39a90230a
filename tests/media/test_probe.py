from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.helpers.media import make_forged_duration_clip
from tests.media.facts import phone_facts
from tests.media.samples import FFPROBE
from videocoach.media.probe import (
    AUDIO_ONLY,
    EMPTY_FILE,
    NOT_A_VIDEO,
    PHOTO,
    TRUNCATED,
    MediaProblem,
    ProbeFacts,
    can_remux_for_web,
    ffprobe_args,
    parse_probe,
    probe,
    probe_video,
    problem_with,
)
from videocoach.media.progress import FfmpegTimeout

FOUR_HOURS = 4 * 3600


def ffprobe_json(path: Path) -> str:
    return subprocess.run(
        ffprobe_args(path, FFPROBE), capture_output=True, text=True, check=True
    ).stdout


# name: (video codec, audio codec, rotation, bit depth)
GOOD = {
    "h264_aac.mp4": ("h264", "aac", 0, 8),
    "h264_rotated.mp4": ("h264", "aac", 90, 8),
    "hevc.mp4": ("hevc", "aac", 0, 8),
    "vp9.webm": ("vp9", "opus", 0, 8),
    "mjpeg.avi": ("mjpeg", "pcm_s16le", 0, 8),
    "prores_or_h264.mov": ("prores", "pcm_s16le", 0, 10),
    "h264_444.mp4": ("h264", None, 0, 8),
    "h264_10bit.mp4": ("h264", None, 0, 10),
    "no_audio.mp4": ("h264", None, 0, 8),
    "vfr.mp4": ("h264", "aac", 0, 8),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_parse_probe_reads_real_ffprobe_output(media_samples: dict[str, Path], name: str) -> None:
    path = media_samples[name]
    facts = parse_probe(ffprobe_json(path), path.stat().st_size)
    video_codec, audio_codec, rotation, bit_depth = GOOD[name]
    assert facts.has_video
    assert facts.video_codec == video_codec
    assert facts.audio_codec == audio_codec
    assert facts.has_audio == (audio_codec is not None)
    assert facts.rotation == rotation
    assert facts.bit_depth == bit_depth
    assert 1.9 <= facts.duration_s <= 3.1
    assert facts.fps is not None
    assert facts.size_bytes == path.stat().st_size
    assert problem_with(facts, FOUR_HOURS) is None
    if name == "vfr.mp4":
        assert facts.is_vfr
        assert facts.fps < 29
    else:
        assert not facts.is_vfr
        assert facts.fps == pytest.approx(30)


def test_rotated_sample_is_portrait_clockwise(media_samples: dict[str, Path]) -> None:
    facts = probe(media_samples["h264_rotated.mp4"])
    assert (facts.width, facts.height) == (320, 240)
    assert (facts.display_width, facts.display_height) == (240, 320)
    raw = json.loads(ffprobe_json(media_samples["h264_rotated.mp4"]))
    # ffprobe's display matrix angle is counter-clockwise: an iPhone portrait clip says -90.
    assert raw["streams"][0]["side_data_list"][0]["rotation"] == -90


def test_profiles_and_pixel_formats(media_samples: dict[str, Path]) -> None:
    assert probe(media_samples["h264_aac.mp4"]).video_profile == "High"
    facts_444 = probe(media_samples["h264_444.mp4"])
    assert facts_444.pix_fmt == "yuv444p"
    assert facts_444.video_profile.startswith("High 4:4:4")
    facts_10 = probe(media_samples["h264_10bit.mp4"])
    assert (facts_10.pix_fmt, facts_10.video_profile) == ("yuv420p10le", "High 10")


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        ("empty.mp4", EMPTY_FILE),
        ("text.mp4", NOT_A_VIDEO),
        ("random.bin", NOT_A_VIDEO),
        ("truncated.mp4", TRUNCATED),
        ("image.png", PHOTO),
        ("audio_only.m4a", AUDIO_ONLY),
    ],
)
def test_bad_inputs_get_a_plain_sentence(
    media_samples: dict[str, Path], name: str, sentence: str
) -> None:
    with pytest.raises(MediaProblem) as caught:
        probe_video(media_samples[name], max_duration_s=FOUR_HOURS)
    assert caught.value.sentence == sentence
    assert str(caught.value) == sentence


def test_unreadable_inputs_fail_in_probe_itself(media_samples: dict[str, Path]) -> None:
    for name in ("empty.mp4", "text.mp4", "random.bin", "truncated.mp4"):
        with pytest.raises(MediaProblem):
            probe(media_samples[name])


def test_not_a_video_sentence_is_exact() -> None:
    assert NOT_A_VIDEO == "This file is not a video we can read."


def test_photo_and_audio_only_are_told_apart(media_samples: dict[str, Path]) -> None:
    assert problem_with(probe(media_samples["image.png"]), FOUR_HOURS) == PHOTO
    assert problem_with(probe(media_samples["audio_only.m4a"]), FOUR_HOURS) == AUDIO_ONLY


def facts(**overrides: object) -> ProbeFacts:
    base = phone_facts(duration_s=60.0, size_bytes=1000, nb_video_frames=1800)
    return replace(base, **overrides)


def test_too_long_clip_names_the_limit() -> None:
    assert problem_with(facts(duration_s=3 * 3600 + 1), 3 * 3600) == (
        "This clip is longer than 3 hours. Trim it and upload it again."
    )
    assert "longer than 1 hour." in problem_with(facts(duration_s=3601), 3600)
    assert problem_with(facts(duration_s=3600), 3600) is None


def test_single_frame_or_zero_duration_is_not_a_video() -> None:
    assert problem_with(facts(nb_video_frames=1), FOUR_HOURS) == PHOTO
    assert problem_with(facts(duration_s=None), FOUR_HOURS) == PHOTO
    assert problem_with(facts(format_name="image2"), FOUR_HOURS) == PHOTO
    assert problem_with(facts(duration_s=0.0), FOUR_HOURS) == NOT_A_VIDEO
    assert problem_with(facts(has_video=False, audio_codec=None), FOUR_HOURS) == NOT_A_VIDEO


def test_cover_art_is_not_a_picture_track() -> None:
    data = {
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "3.0"},
        "streams": [
            {"index": 0, "codec_type": "audio", "codec_name": "aac", "channels": 2},
            {
                "index": 1,
                "codec_type": "video",
                "codec_name": "mjpeg",
                "disposition": {"attached_pic": 1},
            },
        ],
    }
    parsed = parse_probe(json.dumps(data), 10)
    assert not parsed.has_video
    assert problem_with(parsed, FOUR_HOURS) == AUDIO_ONLY


def test_rotation_from_matrix_and_legacy_tag() -> None:
    def rotation(stream: dict[str, object]) -> int:
        stream = {"index": 0, "codec_type": "video", "codec_name": "h264", **stream}
        data = {"format": {"format_name": "mp4", "duration": "1"}, "streams": [stream]}
        return parse_probe(json.dumps(data), 1).rotation

    assert rotation({"side_data_list": [{"rotation": -90}]}) == 90
    assert rotation({"side_data_list": [{"rotation": 90}]}) == 270
    assert rotation({"side_data_list": [{"rotation": 180}]}) == 180
    assert rotation({"side_data_list": [{"rotation": -180}]}) == 180
    assert rotation({"tags": {"rotate": "90"}}) == 90
    assert rotation({"tags": {"rotate": "270"}}) == 270
    assert rotation({}) == 0


def test_frame_rates() -> None:
    def parsed(avg: str, real: str) -> ProbeFacts:
        stream = {
            "index": 0,
            "codec_type": "video",
            "codec_name": "h264",
            "avg_frame_rate": avg,
            "r_frame_rate": real,
        }
        data = {"format": {"format_name": "mp4", "duration": "1"}, "streams": [stream]}
        return parse_probe(json.dumps(data), 1)

    assert parsed("0/0", "30/1").fps is None
    assert parsed("30000/1001", "30000/1001").fps == pytest.approx(29.97, abs=0.01)
    assert not parsed("30000/1001", "30000/1001").is_vfr
    assert parsed("2997/100", "30/1").is_vfr is False  # within 1%: a rounding, not VFR
    assert parsed("25/1", "30/1").is_vfr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("h264_aac.mp4", True),
        ("h264_rotated.mp4", True),
        ("no_audio.mp4", True),
        ("vfr.mp4", True),
        ("h264_444.mp4", False),
        ("h264_10bit.mp4", False),
        ("hevc.mp4", False),
        ("vp9.webm", False),
        ("mjpeg.avi", False),
        ("prores_or_h264.mov", False),
    ],
)
def test_can_remux_for_web(media_samples: dict[str, Path], name: str, expected: bool) -> None:
    assert can_remux_for_web(probe(media_samples[name])) is expected


def test_remux_check_reads_profile_and_pixel_format_not_just_codec() -> None:
    assert can_remux_for_web(facts())
    assert can_remux_for_web(facts(video_profile="Constrained Baseline", audio_codec=None))
    assert not can_remux_for_web(facts(video_profile="High 4:4:4 Predictive"))
    assert not can_remux_for_web(facts(video_profile="High 10", bit_depth=10))
    assert not can_remux_for_web(facts(pix_fmt="yuv444p"))
    assert not can_remux_for_web(facts(pix_fmt="yuv420p10le", bit_depth=10))
    assert not can_remux_for_web(facts(audio_codec="opus"))
    assert not can_remux_for_web(facts(format_name="matroska,webm"))
    assert not can_remux_for_web(facts(color_transfer="arib-std-b67"))


def test_ffprobe_args_never_hand_a_name_to_option_parsing() -> None:
    args = ffprobe_args(Path("/data/-i evil;rm -rf.mp4"), "/usr/bin/ffprobe")
    assert args[0] == "/usr/bin/ffprobe"
    assert args[-1] == "file:/data/-i evil;rm -rf.mp4"
    assert {"-show_format", "-show_streams"} <= set(args)
    assert args[args.index("-print_format") + 1] == "json"


def test_probe_past_its_time_limit_raises_ffmpeg_timeout(
    media_samples: dict[str, Path], tmp_path: Path
) -> None:
    slow = tmp_path / "slow-ffprobe"
    slow.write_text("#!/bin/sh\nexec sleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(FfmpegTimeout):
        probe(media_samples["h264_aac.mp4"], str(slow), timeout_s=0.2)


# --- a declared duration the pictures do not fill ----------------------------------------


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-hide_banner", "-loglevel", "error", *map(str, args)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def timing_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two pictures 3 h 53 min apart (1.6 KB: the file of issue #11), in MP4 (which counts
    its frames in its index) and Matroska (which does not), and an hour of a nearly still
    picture with near-silent sound (2 MB), as a classroom camera on a tripod might give."""
    folder = tmp_path_factory.mktemp("timing")
    forged = make_forged_duration_clip("ffmpeg", folder / "declares_3h53.mp4")
    _ffmpeg("-i", forged, "-c", "copy", folder / "declares_3h53.mkv")
    hour = folder / "still_hour.mkv"
    _ffmpeg(
        *("-f", "lavfi", "-i", "color=c=gray:size=64x48:rate=30:duration=3600"),
        *("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "3600"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"),
        hour,
    )
    _ffmpeg("-i", hour, "-c", "copy", folder / "still_hour.mp4")
    return {path.name: path for path in folder.iterdir()}


@pytest.mark.parametrize("name", ["declares_3h53.mp4", "declares_3h53.mkv"])
def test_a_file_declaring_hours_with_two_pictures_is_refused_at_once(timing_samples, name):
    with pytest.raises(MediaProblem) as refused:
        probe_video(timing_samples[name], max_duration_s=FOUR_HOURS)
    assert refused.value.sentence == (
        "This file says it lasts 3 hours 53 minutes but holds only 2 pictures, so its timing "
        "is probably damaged. Export the video again from the camera or phone app and upload "
        "that."
    )


@pytest.mark.parametrize("name", ["still_hour.mp4", "still_hour.mkv"])
def test_an_hour_of_a_nearly_still_picture_in_two_megabytes_is_taken(timing_samples, name):
    facts = probe_video(timing_samples[name], max_duration_s=FOUR_HOURS)
    assert facts.size_bytes < 3_000_000  # a bitrate floor would have refused it
    assert facts.nb_video_frames == 108_000  # Matroska's are counted: it has no index count


def test_how_many_pictures_a_long_clip_needs() -> None:
    hour = facts(duration_s=3600.0, nb_video_frames=108_000)
    assert problem_with(hour, FOUR_HOURS) is None  # a teacher's 60-minute phone clip
    # A phone in a dim room drops to 15 frames a second and more: still a video.
    assert problem_with(replace(hour, nb_video_frames=54_000, is_vfr=True), FOUR_HOURS) is None
    assert problem_with(replace(hour, nb_video_frames=1800), FOUR_HOURS) is None  # 1 every 2 s
    assert "holds only 1799 pictures" in problem_with(replace(hour, nb_video_frames=1799), 14400)
    # Under a minute nothing is counted; an unknown count (or a muxer's 0) is not a reason.
    assert problem_with(facts(duration_s=59.0, nb_video_frames=2), FOUR_HOURS) is None
    assert problem_with(replace(hour, nb_video_frames=None), FOUR_HOURS) is None
    assert problem_with(replace(hour, nb_video_frames=0), FOUR_HOURS) is None
