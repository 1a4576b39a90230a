"""What ffprobe says about an upload, and whether a teacher needs to be told something.

`parse_probe` and `problem_with` are pure; `probe` is the thin runner.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from videocoach import limits
from videocoach.media.progress import FfmpegTimeout

NOT_A_VIDEO = "This file is not a video we can read."
EMPTY_FILE = "This file is empty. Try uploading it again."
TRUNCATED = (
    "This file seems to be cut off: the upload or the recording may not have finished. "
    "Try uploading it again."
)
AUDIO_ONLY = "This file has sound but no picture. Upload a video file."
PHOTO = "This looks like a photo, not a video. Upload a video file."
DAMAGED_TIMING = (
    "This file says it lasts {declared} but holds only {pictures} pictures, so its timing "
    "is probably damaged. Export the video again from the camera or phone app and upload that."
)

# Any camera takes many pictures a second. A clip over a minute long with fewer than one
# picture every two seconds has a broken (or forged) timestamp: its transcode would repeat
# one picture at 30 frames a second for the whole declared length (a 2 KB file declaring
# 3 h 53 min took ~2.5 minutes of worker time to become a still frame).
SPARSE_CHECK_AFTER_S = 60.0
MIN_PICTURES_PER_S = 0.5
# Counting packets reads the whole file (about 1 GB/s from the page cache, as after an
# upload); past this it is skipped and the declared duration trusted.
COUNT_PACKETS_TIMEOUT_S = 30.0

# 8K is 7680 x 4320; a side past this is a damaged or hostile header, or a frame so large
# that decoding it would hold gigabytes of memory for one picture.
MAX_PICTURE_SIDE = 8192
# Stored as the caption track's label (clip_assets.label) and in its file name.
CAPTION_TITLE_MAX = 200
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,4}$")

# ffprobe names demuxers for single pictures like this; any `*_pipe` is an image reader.
IMAGE_FORMATS = frozenset({"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "gif_pipe", "bmp_pipe"})
WEB_H264_PROFILES = frozenset({"Baseline", "Constrained Baseline", "Main", "High"})
WEB_PIX_FMTS = frozenset({"yuv420p", "yuvj420p"})
HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})
# Subtitle codecs ffmpeg can turn into WebVTT. Bitmap ones (dvd_subtitle,
# hdmv_pgs_subtitle, dvb_subtitle) are pictures of text and would need OCR.
TEXT_SUBTITLE_CODECS = frozenset({"mov_text", "subrip", "srt", "webvtt", "ass", "ssa", "text"})


class MediaProblem(Exception):
    """Something about the file that the uploader, not the operator, has to fix."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


@dataclass(frozen=True)
class SubtitleStream:
    index: int  # absolute stream index, for exact -map
    codec: str
    language: str | None = None  # tags.language as the file says it: "eng", "en", "und"...
    title: str | None = None

    @property
    def is_text(self) -> bool:
        return self.codec in TEXT_SUBTITLE_CODECS


@dataclass(frozen=True)
class ProbeFacts:
    format_name: str
    duration_s: float | None
    size_bytes: int
    video_codec: str | None = None
    video_profile: str | None = None
    pix_fmt: str | None = None
    width: int = 0  # coded, before rotation
    height: int = 0
    rotation: int = 0  # clockwise degrees a player turns the picture: 0, 90, 180 or 270
    fps: float | None = None
    is_vfr: bool = False
    audio_codec: str | None = None
    audio_channels: int | None = None
    has_video: bool = False
    nb_video_frames: int | None = None
    bit_depth: int = 8
    sample_aspect_ratio: float = 1.0
    color_transfer: str | None = None
    video_index: int | None = None  # absolute stream indexes, for exact -map
    audio_index: int | None = None
    subtitle_streams: tuple[SubtitleStream, ...] = ()

    @property
    def text_subtitles(self) -> tuple[SubtitleStream, ...]:
        """The caption tracks that can become WebVTT, in stream order."""
        return tuple(s for s in self.subtitle_streams if s.is_text)

    @property
    def display_width(self) -> int:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def is_hdr(self) -> bool:
        return self.color_transfer in HDR_TRANSFERS


def ffprobe_args(path: Path, ffprobe: str = "ffprobe") -> list[str]:
    return [
        ffprobe,
        "-v",
        "error",
        "-hide_banner",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        # "file:" so a name can never be read as an option or another protocol.
        f"file:{path}",
    ]


def _ratio(text: Any) -> float | None:
    """'30000/1001' -> 29.97; '0/0', 'N/A' or garbage -> None."""
    try:
        value = float(Fraction(str(text)))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 and math.isfinite(value) else None


def _float(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _int(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _rotation(stream: dict[str, Any]) -> int:
    # The display matrix counts counter-clockwise (iPhone portrait: -90); the legacy
    # `rotate` tag counts clockwise (iPhone portrait: "90"). We store clockwise.
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            degrees = _float(side_data["rotation"])
            if degrees is not None:
                return (-round(degrees / 90) * 90) % 360
    degrees = _float((stream.get("tags") or {}).get("rotate"))
    if degrees is not None:
        return (round(degrees / 90) * 90) % 360
    return 0


def _bit_depth(pix_fmt: str | None, bits_per_raw_sample: Any) -> int:
    match = re.search(r"(\d{1,2})(?:le|be)$", pix_fmt or "")
    if match and 8 <= int(match.group(1)) <= 16:
        return int(match.group(1))
    raw = _int(bits_per_raw_sample)
    return raw if raw and 8 <= raw <= 16 else 8


def _is_picture(stream: dict[str, Any]) -> bool:
    """A real video track: cover art in an m4a/mp3 is a 'video' stream too, but not a video."""
    disposition = stream.get("disposition") or {}
    return (
        stream.get("codec_type") == "video"
        and not disposition.get("attached_pic")
        and bool(stream.get("codec_name"))
    )


def _tag(stream: dict[str, Any], name: str) -> str | None:
    tags = stream.get("tags") or {}
    # Matroska writes "language"; some muxers upper-case tag names.
    value = tags.get(name, tags.get(name.upper()))
    text = str(value).strip() if value is not None else ""
    return text or None


def _subtitle_streams(streams: list[dict[str, Any]]) -> tuple[SubtitleStream, ...]:
    found = []
    for stream in streams:
        index = _int(stream.get("index"))
        codec = stream.get("codec_name")
        if stream.get("codec_type") != "subtitle" or index is None or not codec:
            continue
        language = _tag(stream, "language")
        title = limits.one_line(_tag(stream, "title"))[:CAPTION_TITLE_MAX].rstrip()
        found.append(
            SubtitleStream(
                index=index,
                codec=str(codec),
                # The tag goes into a file name and a URL: only what a language tag can be.
                language=language if language and _LANGUAGE_TAG.match(language) else None,
                title=title or None,
            )
        )
    return tuple(found)


def parse_probe(json_text: str, size_bytes: int) -> ProbeFacts:
    data = json.loads(json_text or "{}")
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    video = next((s for s in streams if _is_picture(s)), None)
    audio = next(
        (s for s in streams if s.get("codec_type") == "audio" and s.get("codec_name")), None
    )
    duration = _float(fmt.get("duration"))
    if duration is None and video is not None:
        duration = _float(video.get("duration"))
    audio_facts: dict[str, Any] = {}
    if audio is not None:
        audio_facts = {
            "audio_codec": audio["codec_name"],
            "audio_channels": _int(audio.get("channels")),
            "audio_index": _int(audio.get("index")),
        }
    subtitle_streams = _subtitle_streams(streams)
    if video is None:
        return ProbeFacts(
            format_name=fmt.get("format_name", ""),
            duration_s=duration,
            size_bytes=size_bytes,
            subtitle_streams=subtitle_streams,
            **audio_facts,
        )
    avg = _ratio(video.get("avg_frame_rate"))
    real = _ratio(video.get("r_frame_rate"))
    # Phones record variable frame rate: r_frame_rate is the base tick, the average drifts.
    is_vfr = bool(avg and real and abs(avg - real) / real > 0.01)
    pix_fmt = video.get("pix_fmt")
    return ProbeFacts(
        format_name=fmt.get("format_name", ""),
        duration_s=duration,
        size_bytes=size_bytes,
        video_codec=video.get("codec_name"),
        video_profile=video.get("profile"),
        pix_fmt=pix_fmt,
        width=_int(video.get("width")) or 0,
        height=_int(video.get("height")) or 0,
        rotation=_rotation(video),
        fps=avg,
        is_vfr=is_vfr,
        has_video=True,
        nb_video_frames=_int(video.get("nb_frames")),
        bit_depth=_bit_depth(pix_fmt, video.get("bits_per_raw_sample")),
        sample_aspect_ratio=_ratio(video.get("sample_aspect_ratio")) or 1.0,
        color_transfer=video.get("color_transfer"),
        video_index=_int(video.get("index")),
        subtitle_streams=subtitle_streams,
        **audio_facts,
    )


def count_packets_args(path: Path, stream_index: int, ffprobe: str = "ffprobe") -> list[str]:
    """ffprobe counting one stream's packets (demuxing only: nothing is decoded)."""
    return [
        ffprobe,
        "-v",
        "error",
        "-hide_banner",
        "-count_packets",
        "-select_streams",
        str(stream_index),
        "-show_entries",
        "stream=nb_read_packets",
        "-of",
        "csv=p=0",
        f"file:{path}",
    ]


def needs_picture_count(facts: ProbeFacts) -> bool:
    """The container did not say how many pictures a long clip holds (MP4 and MOV say it
    in their index; Matroska, WebM, AVI and MPEG-TS usually do not)."""
    return (
        facts.has_video
        and not facts.nb_video_frames  # None, or 0 from a muxer that did not count
        and facts.video_index is not None
        and (facts.duration_s or 0) > SPARSE_CHECK_AFTER_S
    )


def _length(seconds: float) -> str:
    """3 hours 53 minutes; 12 minutes; 45 seconds."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{round(seconds)} seconds"
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour" + ("" if hours == 1 else "s")] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute" + ("" if minutes == 1 else "s"))
    return " ".join(parts)


def _hours(seconds: float) -> str:
    if seconds < 3600:
        minutes = seconds / 60
        return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    hours = seconds / 3600
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def problem_with(facts: ProbeFacts, max_duration_s: float) -> str | None:
    """The sentence to show the uploader, or None when the file can be processed."""
    if not facts.has_video:
        return AUDIO_ONLY if facts.has_audio else NOT_A_VIDEO
    if (
        facts.format_name in IMAGE_FORMATS
        or facts.format_name.endswith("_pipe")
        or facts.nb_video_frames == 1
        or facts.duration_s is None
    ):
        return PHOTO
    if facts.duration_s <= 0 or facts.width <= 0 or facts.height <= 0:
        return NOT_A_VIDEO
    if max(facts.width, facts.height) > MAX_PICTURE_SIDE:
        return (
            f"This video's picture is {facts.width} x {facts.height} pixels; the largest we "
            f"take is {MAX_PICTURE_SIDE} pixels on a side. Export it at 4K or less and "
            "upload it again."
        )
    if facts.duration_s > max_duration_s:
        return f"This clip is longer than {_hours(max_duration_s)}. Trim it and upload it again."
    if (
        facts.nb_video_frames
        and facts.duration_s > SPARSE_CHECK_AFTER_S
        and facts.nb_video_frames < facts.duration_s * MIN_PICTURES_PER_S
    ):
        return DAMAGED_TIMING.format(
            declared=_length(facts.duration_s), pictures=facts.nb_video_frames
        )
    return None


def _looks_like_mp4(path: Path) -> bool:
    with path.open("rb") as file:
        head = file.read(12)
    return head[4:8] == b"ftyp"


def probe(path: Path, ffprobe: str = "ffprobe", timeout_s: float = 60) -> ProbeFacts:
    """Run ffprobe on a file we stored.

    Raises MediaProblem when it cannot be read at all, FfmpegTimeout past timeout_s.
    """
    size = path.stat().st_size
    if size == 0:
        raise MediaProblem(EMPTY_FILE)
    try:
        result = subprocess.run(  # noqa: S603 - list arguments, no shell
            ffprobe_args(path, ffprobe),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        # Same exception as a slow ffmpeg run: the caller treats both as one kind of fault.
        raise FfmpegTimeout(timeout_s) from error
    if result.returncode != 0:
        cut_off = "moov atom not found" in result.stderr or "Invalid data found" in result.stderr
        if cut_off and _looks_like_mp4(path):
            raise MediaProblem(TRUNCATED)
        raise MediaProblem(NOT_A_VIDEO)
    try:
        facts = parse_probe(result.stdout, size)
    except ValueError as error:  # unparseable JSON: treat like unreadable media
        raise MediaProblem(NOT_A_VIDEO) from error
    if needs_picture_count(facts):
        assert facts.video_index is not None
        counted = count_pictures(path, facts.video_index, ffprobe)
        if counted is not None:
            facts = replace(facts, nb_video_frames=counted)
    return facts


def count_pictures(path: Path, stream_index: int, ffprobe: str = "ffprobe") -> int | None:
    """How many packets (pictures) the video stream holds; None when ffprobe cannot say
    in time (then the declared duration is trusted)."""
    try:
        result = subprocess.run(  # noqa: S603 - list arguments, no shell
            count_packets_args(path, stream_index, ffprobe),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=COUNT_PACKETS_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    return _int(result.stdout.strip()) if result.returncode == 0 else None


def probe_video(
    path: Path, *, max_duration_s: float, ffprobe: str = "ffprobe", timeout_s: float = 60
) -> ProbeFacts:
    """probe() plus problem_with(): the facts of a file we can process, or MediaProblem."""
    facts = probe(path, ffprobe, timeout_s)
    sentence = problem_with(facts, max_duration_s)
    if sentence:
        raise MediaProblem(sentence)
    return facts


def can_remux_for_web(facts: ProbeFacts) -> bool:
    """Every browser plays this after a stream copy into MP4: the fast path."""
    container = set(facts.format_name.split(","))
    return (
        facts.has_video
        and facts.video_codec == "h264"
        and facts.video_profile in WEB_H264_PROFILES
        and facts.pix_fmt in WEB_PIX_FMTS
        and facts.bit_depth == 8
        and not facts.is_hdr
        and facts.audio_codec in (None, "aac")
        and bool(container & {"mov", "mp4"})
    )
