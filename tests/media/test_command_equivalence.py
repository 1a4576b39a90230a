"""The ffmpeg-python builders make the same files as the hand-built lists they replaced.

Both command lines run through run_ffmpeg on the same tiny lavfi clips; the outputs are
probed and compared: codecs, profile, pixel format, size, frame rate, keyframe positions,
audio, faststart, the image and waveform outputs, the caption files. The remuxed frames and
the image, PCM and WebVTT bytes are compared to the bit. x264's threads may order their work
differently on a loaded machine, so two encodes of the same frames can differ in the last
bits: the web renditions must have the same frames at the same times and look the same
(PSNR between them of at least 50 dB).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.media.samples import FFMPEG, FFPROBE, make_captioned_samples, top_level_atoms
from videocoach.media.commands import (
    CAPTIONS_PATTERN,
    KEYFRAME_INTERVAL_S,
    POSTER_CANDIDATE_PATTERN,
    PROGRESS_TRACK,
    STORYBOARD_PATTERN,
    WAVEFORM_PCM,
    WAVEFORM_SAMPLE_RATE,
    WEB_RENDITION,
    StoryboardLayout,
    captions_args,
    poster_seek_args,
    remux_args,
    rendition_size,
    storyboard_layout,
    transcode_args,
    web_fps,
)
from videocoach.media.probe import ProbeFacts, probe
from videocoach.media.progress import run_ffmpeg

# --- FROZEN REFERENCE ---------------------------------------------------------------
# The hand-built builders of videocoach/media/commands.py as they were before the move to
# ffmpeg-python, copied unchanged but for the legacy_ names. Do not update them to follow
# the module: they are what the new builders are measured against.

LEGACY_COMMON_FLAGS = ["-nostdin", "-y", "-hide_banner", "-loglevel", "warning", "-nostats"]
LEGACY_PROGRESS_FLAGS = ["-progress", "pipe:1"]
LEGACY_HDR_TO_SDR = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
    "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)


def _legacy_file(path: Path | str) -> str:
    return f"file:{path}"


def _legacy_video_in(facts: ProbeFacts) -> str:
    return f"0:{facts.video_index}" if facts.video_index is not None else "0:v:0"


def _legacy_audio_in(facts: ProbeFacts) -> str:
    return f"0:{facts.audio_index}" if facts.audio_index is not None else "0:a:0"


def legacy_remux_args(
    src: Path, dst: Path, facts: ProbeFacts, *, ffmpeg: str = "ffmpeg"
) -> list[str]:
    args = [
        ffmpeg,
        *LEGACY_COMMON_FLAGS,
        *LEGACY_PROGRESS_FLAGS,
        "-i",
        _legacy_file(src),
        "-map",
        _legacy_video_in(facts),
    ]
    if facts.has_audio:
        args += ["-map", _legacy_audio_in(facts)]
    return [
        *args,
        "-c",
        "copy",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        _legacy_file(dst),
    ]


def _legacy_fps_expr(count: int, duration_s: float) -> str:
    return f"{count}/{duration_s:.3f}"


def legacy_transcode_filter_graph(
    facts: ProbeFacts,
    layout: StoryboardLayout,
    *,
    max_height: int = 720,
    poster_candidates: int = 8,
) -> str:
    width, height = rendition_size(facts, max_height)
    duration = facts.duration_s or 0.0
    head = f"[{_legacy_video_in(facts)}]"
    if facts.is_hdr:
        head += f"{LEGACY_HDR_TO_SDR},"
    return ";".join(
        [
            f"{head}split=3[web_in][storyboard_in][poster_in]",
            f"[web_in]fps={web_fps(facts)},scale={width}:{height},setsar=1,format=yuv420p[web]",
            f"[storyboard_in]fps=1/{layout.interval_s}:eof_action=pass,"
            f"scale={layout.thumb_w}:{layout.thumb_h},setsar=1,"
            f"tile={layout.columns}x{layout.rows}[storyboard]",
            f"[poster_in]fps={_legacy_fps_expr(poster_candidates, duration)}:eof_action=pass,"
            f"scale={width}:{height},setsar=1[posters]",
        ]
    )


def legacy_transcode_args(
    src: Path,
    out_dir: Path,
    facts: ProbeFacts,
    layout: StoryboardLayout,
    *,
    max_height: int = 720,
    crf: int = 23,
    preset: str = "veryfast",
    poster_candidates: int = 8,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    if "%" in str(out_dir):
        raise ValueError("out_dir must not contain '%': image outputs use it as a pattern")
    gop = web_fps(facts) * KEYFRAME_INTERVAL_S
    graph = legacy_transcode_filter_graph(
        facts, layout, max_height=max_height, poster_candidates=poster_candidates
    )
    args = [
        ffmpeg,
        *LEGACY_COMMON_FLAGS,
        *LEGACY_PROGRESS_FLAGS,
        "-i",
        _legacy_file(src),
        "-filter_complex",
        graph,
        "-map",
        "[web]",
    ]
    if facts.has_audio:
        args += ["-map", _legacy_audio_in(facts)]
    args += [
        "-c:v",
        "libx264",
        "-profile:v",
        "high",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        preset,
        "-crf",
        str(crf),
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-fps_mode",
        "cfr",
    ]
    if facts.has_audio:
        args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2"]
    args += [
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        _legacy_file(out_dir / WEB_RENDITION),
        "-map",
        "[storyboard]",
        "-frames:v",
        str(layout.sheets),
        "-q:v",
        "5",
        "-start_number",
        "0",
        "-f",
        "image2",
        _legacy_file(out_dir / STORYBOARD_PATTERN),
        "-map",
        "[posters]",
        "-frames:v",
        str(poster_candidates),
        "-q:v",
        "2",
        "-start_number",
        "0",
        "-f",
        "image2",
        _legacy_file(out_dir / POSTER_CANDIDATE_PATTERN),
    ]
    if facts.has_audio:
        args += [
            "-map",
            _legacy_audio_in(facts),
            "-ac",
            "1",
            "-ar",
            str(WAVEFORM_SAMPLE_RATE),
            "-c:a",
            "pcm_s16le",
            "-f",
            "s16le",
            _legacy_file(out_dir / WAVEFORM_PCM),
        ]
    return args


def legacy_poster_seek_args(
    src: Path,
    dst: Path,
    at_s: float,
    facts: ProbeFacts,
    *,
    max_height: int = 720,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    if facts.duration_s:
        at_s = min(at_s, max(0.0, facts.duration_s - 0.1))
    width, height = rendition_size(facts, max_height)
    return [
        ffmpeg,
        *LEGACY_COMMON_FLAGS,
        "-ss",
        f"{max(0.0, at_s):.3f}",
        "-i",
        _legacy_file(src),
        "-map",
        _legacy_video_in(facts),
        "-frames:v",
        "1",
        "-vf",
        f"scale={width}:{height},setsar=1",
        "-q:v",
        "2",
        "-update",
        "1",
        "-f",
        "image2",
        _legacy_file(dst),
    ]


def legacy_captions_args(
    src: Path, out_dir: Path, facts: ProbeFacts, *, ffmpeg: str = "ffmpeg"
) -> list[str]:
    tracks = facts.text_subtitles
    if not tracks:
        return []
    args = [ffmpeg, *LEGACY_COMMON_FLAGS, "-i", _legacy_file(src)]
    for n, stream in enumerate(tracks):
        args += [
            "-map",
            f"0:{stream.index}",
            "-c:s",
            "webvtt",
            "-f",
            "webvtt",
            _legacy_file(out_dir / CAPTIONS_PATTERN.format(n=n)),
        ]
    return args


# --- END OF FROZEN REFERENCE ---------------------------------------------------------


def _lavfi_clip(path: Path, *, rate: int, duration: float, encode: list[str], audio: str) -> Path:
    video = f"testsrc2=size=320x240:rate={rate}:duration={duration}"
    sine = f"sine=frequency=220:sample_rate={audio}:duration={duration}"
    subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            video,
            "-f",
            "lavfi",
            "-i",
            sine,
            *encode,
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture(scope="module")
def clips(
    media_samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The shared samples, plus a 25 fps mono clip and an HLG-tagged 10-bit HEVC one."""
    directory = tmp_path_factory.mktemp("equivalence-clips")
    pal_mono = _lavfi_clip(
        directory / "pal_mono.mp4",
        rate=25,
        duration=4.5,
        audio="44100",
        encode=[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-ac",
            "1",
            "-b:a",
            "64k",
        ],
    )
    hdr = _lavfi_clip(
        directory / "hlg.mp4",
        rate=30,
        duration=2.5,
        audio="48000",
        encode=[
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
            "-pix_fmt",
            "yuv420p10le",
            "-color_primaries",
            "bt2020",
            "-color_trc",
            "arib-std-b67",
            "-colorspace",
            "bt2020nc",
            "-tag:v",
            "hvc1",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
        ],
    )
    return {**media_samples, "pal_mono.mp4": pal_mono, "hlg.mp4": hdr}


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [FFPROBE, "-v", "error", "-print_format", "json", *args, f"file:{path}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decoded_frames(path: Path) -> list[str]:
    """One line per decoded video frame: timestamps, size and an MD5 of the pixels."""
    result = subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-i",
            f"file:{path}",
            "-map",
            "0:v:0",
            "-f",
            "framemd5",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if not line.startswith("#")]


def frame_timing(framemd5_line: str) -> str:
    """A framemd5 line without its pixel checksum: stream, dts, pts, duration, size."""
    return framemd5_line.rsplit(",", 1)[0]


def psnr_db(a: Path, b: Path) -> float:
    """Average PSNR of b's frames against a's (inf when every frame is the same)."""
    result = subprocess.run(
        [
            FFMPEG,
            "-nostdin",
            "-i",
            f"file:{a}",
            "-i",
            f"file:{b}",
            "-lavfi",
            "[0:v][1:v]psnr",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    average = re.search(r"PSNR .* average:(\S+)", result.stderr)
    assert average, result.stderr
    return float(average.group(1))


VIDEO_FACTS = (
    "codec_name",
    "profile",
    "pix_fmt",
    "width",
    "height",
    "sample_aspect_ratio",
    "avg_frame_rate",
    "r_frame_rate",
    "nb_frames",
    "color_transfer",
    "side_data_list",
)
AUDIO_FACTS = ("codec_name", "profile", "channels", "channel_layout", "sample_rate")


def mp4_facts(path: Path) -> dict[str, Any]:
    info = ffprobe(path, "-show_streams", "-show_format", "-show_chapters")
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    packets = ffprobe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags")
    atoms = top_level_atoms(path)
    return {
        "video": [{key: stream.get(key) for key in VIDEO_FACTS} for stream in video],
        "audio": [{key: stream.get(key) for key in AUDIO_FACTS} for stream in audio],
        "streams": len(info["streams"]),
        "keyframes": [p["pts_time"] for p in packets["packets"] if "K" in p["flags"]],
        "faststart": atoms.index("moov") < atoms.index("mdat"),
        "format_tags": info["format"].get("tags", {}),
        "chapters": len(info.get("chapters", [])),
        "duration": info["format"]["duration"],
        "decoded_frames": decoded_frames(path),
    }


def image_facts(path: Path) -> dict[str, Any]:
    (stream,) = ffprobe(path, "-show_streams")["streams"]
    return {"size": (stream["width"], stream["height"]), "sha256": digest(path)}


def transcode_facts(out_dir: Path, progress: list[float]) -> dict[str, Any]:
    pcm = out_dir / WAVEFORM_PCM
    return {
        # A silent clip's progress track came after the hand-built lists: progress alone.
        "files": sorted(path.name for path in out_dir.iterdir() if path.name != PROGRESS_TRACK),
        "web": mp4_facts(out_dir / WEB_RENDITION),
        "sheets": [image_facts(p) for p in sorted(out_dir.glob("storyboard-*.jpg"))],
        "posters": [image_facts(p) for p in sorted(out_dir.glob("poster-cand-*.jpg"))],
        "waveform": (pcm.stat().st_size, digest(pcm)) if pcm.exists() else None,
        "progress_done": progress[-1] if progress else None,
    }


def run(args: list[str], duration_s: float | None = None) -> list[float]:
    progress: list[float] = []
    run_ffmpeg(args, timeout_s=120, on_progress=progress.append, duration_s=duration_s)
    return progress


TRANSCODED = [
    "h264_aac.mp4",  # H.264 + AAC, 30 fps
    "no_audio.mp4",  # no audio: no AAC track, no waveform
    "h264_rotated.mp4",  # display matrix: turned upright
    "vfr.mp4",  # variable rate: constant 30 fps out
    "vp9.webm",  # another container, Opus audio
    "pal_mono.mp4",  # 25 fps (GOP 50), mono 44.1 kHz audio
    "hlg.mp4",  # HLG-tagged 10-bit HEVC: the tone-map chain
]


@pytest.mark.parametrize("name", TRANSCODED)
def test_transcode_makes_what_the_hand_built_command_made(
    clips: dict[str, Path], tmp_path: Path, name: str
) -> None:
    src = clips[name]
    facts = probe(src, FFPROBE)
    assert facts.is_hdr == (name == "hlg.mp4")
    layout = storyboard_layout(facts.duration_s, *rendition_size(facts))
    made = {}
    for label, build in (("hand-built", legacy_transcode_args), ("ffmpeg-python", transcode_args)):
        out_dir = tmp_path / label
        out_dir.mkdir()
        progress = run(build(src, out_dir, facts, layout, ffmpeg=FFMPEG), facts.duration_s)
        made[label] = transcode_facts(out_dir, progress)
    legacy, built = made["hand-built"], made["ffmpeg-python"]
    for web in (legacy["web"], built["web"]):
        web["decoded_frames"] = [frame_timing(frame) for frame in web["decoded_frames"]]
    for key in legacy:
        assert built[key] == legacy[key], key
    assert (
        psnr_db(tmp_path / "hand-built" / WEB_RENDITION, tmp_path / "ffmpeg-python" / WEB_RENDITION)
        >= 50
    )

    # What both promise, so that two equal but broken commands cannot pass.
    web = built["web"]
    (video,) = web["video"]
    width, height = rendition_size(facts)
    fps = web_fps(facts)
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (video["width"], video["height"]) == (width, height)
    assert video["avg_frame_rate"] == f"{fps}/1"
    assert video["side_data_list"] is None  # upright pixels, no display matrix
    expected_keyframes = math.ceil(int(video["nb_frames"]) / (fps * KEYFRAME_INTERVAL_S))
    assert [float(t) for t in web["keyframes"]] == [
        pytest.approx(KEYFRAME_INTERVAL_S * i) for i in range(expected_keyframes)
    ]
    assert web["faststart"]
    assert web["chapters"] == 0
    assert set(web["format_tags"]) <= {
        "major_brand",
        "minor_version",
        "compatible_brands",
        "encoder",
    }
    if facts.has_audio:
        assert [(a["codec_name"], a["channels"]) for a in web["audio"]] == [("aac", 2)]
        size, _ = built["waveform"]
        expected = facts.duration_s * WAVEFORM_SAMPLE_RATE * 2
        assert abs(size - expected) <= 0.05 * expected
    else:
        assert web["audio"] == []
        assert built["waveform"] is None
    assert len(built["sheets"]) == layout.sheets
    assert {sheet["size"] for sheet in built["sheets"]} == {(layout.sheet_w, layout.sheet_h)}
    assert len(built["posters"]) == 8
    assert {poster["size"] for poster in built["posters"]} == {(width, height)}
    assert built["progress_done"] == 1.0


@pytest.mark.parametrize("name", ["h264_aac.mp4", "h264_rotated.mp4", "no_audio.mp4"])
def test_remux_makes_what_the_hand_built_command_made(
    clips: dict[str, Path], tmp_path: Path, name: str
) -> None:
    src = clips[name]
    facts = probe(src, FFPROBE)
    legacy, built = tmp_path / "hand-built.mp4", tmp_path / "ffmpeg-python.mp4"
    run(legacy_remux_args(src, legacy, facts, ffmpeg=FFMPEG), facts.duration_s)
    run(remux_args(src, built, facts, ffmpeg=FFMPEG), facts.duration_s)
    assert mp4_facts(built) == mp4_facts(legacy)
    assert mp4_facts(built)["faststart"]
    assert probe(built, FFPROBE).rotation == facts.rotation  # the display matrix is copied


@pytest.mark.parametrize("name", ["h264_aac.mp4", "h264_rotated.mp4", "hlg.mp4"])
def test_poster_seek_makes_what_the_hand_built_command_made(
    clips: dict[str, Path], tmp_path: Path, name: str
) -> None:
    src = clips[name]
    facts = probe(src, FFPROBE)
    legacy, built = tmp_path / "hand-built.jpg", tmp_path / "ffmpeg-python.jpg"
    run(legacy_poster_seek_args(src, legacy, 1.2, facts, ffmpeg=FFMPEG))
    run(poster_seek_args(src, built, 1.2, facts, ffmpeg=FFMPEG))
    assert image_facts(built) == image_facts(legacy)
    assert image_facts(built)["size"] == rendition_size(facts)


@pytest.fixture(scope="module")
def captioned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_captioned_samples(tmp_path_factory.mktemp("equivalence-captions"))


@pytest.mark.parametrize("name", ["captioned.mp4", "captioned_two.mkv"])
def test_captions_make_what_the_hand_built_command_made(
    captioned: dict[str, Path], tmp_path: Path, name: str
) -> None:
    src = captioned[name]
    facts = probe(src, FFPROBE)
    made = {}
    for label, build in (("hand-built", legacy_captions_args), ("ffmpeg-python", captions_args)):
        out_dir = tmp_path / label
        out_dir.mkdir()
        run(build(src, out_dir, facts, ffmpeg=FFMPEG))
        made[label] = {path.name: path.read_text() for path in sorted(out_dir.iterdir())}
    assert made["ffmpeg-python"] == made["hand-built"]
    vtt = made["ffmpeg-python"]
    assert list(vtt) == [CAPTIONS_PATTERN.format(n=n) for n in range(len(facts.text_subtitles))]
    assert all(text.startswith("WEBVTT") for text in vtt.values())
