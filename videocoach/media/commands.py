"""ffmpeg argument lists, built from probe facts. Pure: nothing here runs a process.

The command lines and filter graphs are put together with ffmpeg-python and compiled to
lists; progress.run_ffmpeg runs them. Paths go in with a "file:" prefix so no name is ever
read as an option or a protocol, and every list is meant for subprocess without a shell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Imported under another name: every builder takes the binary as its `ffmpeg` keyword.
import ffmpeg as ffmpeg_python
from ffmpeg.nodes import FilterableStream, OutputStream

from videocoach.media.probe import ProbeFacts

WEB_RENDITION = "web.mp4"
STORYBOARD_PATTERN = "storyboard-%03d.jpg"
POSTER_CANDIDATE_PATTERN = "poster-cand-%02d.jpg"
WAVEFORM_PCM = "waveform.pcm"
WAVEFORM_SAMPLE_RATE = 4000
# A silent clip's transcode writes this instead, for progress alone (see progress_track):
# 2x2 grey pictures, PROGRESS_TRACK_FPS a second of the clip.
PROGRESS_TRACK = "progress.gray"
PROGRESS_TRACK_FPS = 2
PROGRESS_TRACK_FRAME_BYTES = 4
CAPTIONS_PATTERN = "captions-{n}.vtt"

STORYBOARD_INTERVALS_S = (1, 2, 5, 10, 15, 20, 30, 60)
THUMB_WIDTH = 160
SHEET_COLUMNS = 10
SHEET_ROWS = 10
MAX_WEB_FPS = 30
KEYFRAME_INTERVAL_S = 2

# Language tags seen on phone, camera and ripped files: ISO 639-2 (B and T) and 639-1.
LANGUAGE_NAMES = {
    "eng": "English",
    "en": "English",
    "spa": "Spanish",
    "es": "Spanish",
    "fre": "French",
    "fra": "French",
    "fr": "French",
    "ger": "German",
    "deu": "German",
    "de": "German",
    "ita": "Italian",
    "it": "Italian",
    "por": "Portuguese",
    "pt": "Portuguese",
    "dut": "Dutch",
    "nld": "Dutch",
    "nl": "Dutch",
    "pol": "Polish",
    "pl": "Polish",
    "rus": "Russian",
    "ru": "Russian",
    "ukr": "Ukrainian",
    "uk": "Ukrainian",
    "tur": "Turkish",
    "tr": "Turkish",
    "ara": "Arabic",
    "ar": "Arabic",
    "chi": "Chinese",
    "zho": "Chinese",
    "zh": "Chinese",
    "jpn": "Japanese",
    "ja": "Japanese",
    "kor": "Korean",
    "ko": "Korean",
    "hin": "Hindi",
    "hi": "Hindi",
    "swe": "Swedish",
    "sv": "Swedish",
    "nor": "Norwegian",
    "no": "Norwegian",
    "dan": "Danish",
    "da": "Danish",
    "fin": "Finnish",
    "fi": "Finnish",
    "gre": "Greek",
    "ell": "Greek",
    "el": "Greek",
    "heb": "Hebrew",
    "he": "Hebrew",
    "wel": "Welsh",
    "cym": "Welsh",
    "cy": "Welsh",
    "gle": "Irish",
    "ga": "Irish",
    "cat": "Catalan",
    "ca": "Catalan",
}

# Every run: never wait on a terminal, overwrite our own temp outputs, progress on stdout.
# These are global options: ffmpeg-python writes them after the last output, and ffmpeg
# reads global options wherever they stand.
COMMON_FLAGS = ["-nostdin", "-y", "-hide_banner", "-loglevel", "warning", "-nostats"]
PROGRESS_FLAGS = ["-progress", "pipe:1"]

# Phones put GPS and device names in global metadata; a coaching clip needs none. The index
# goes up front so a browser can play the file while it loads.
MP4_FOR_WEB: dict[str, Any] = {
    "map_metadata": -1,
    "map_chapters": -1,
    "movflags": "+faststart",
}


@dataclass(frozen=True)
class StoryboardLayout:
    interval_s: int
    thumb_w: int
    thumb_h: int
    columns: int
    rows: int
    count: int  # thumbnails, one per interval; the last interval may be partial
    sheets: int

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    @property
    def sheet_w(self) -> int:
        return self.columns * self.thumb_w

    @property
    def sheet_h(self) -> int:
        return self.rows * self.thumb_h


def _even(value: float) -> int:
    # Rounded down: x264 needs even 4:2:0 sizes, and down never upscales by a pixel.
    return max(2, math.floor(value / 2 + 1e-9) * 2)


def _file(path: Path | str) -> str:
    return f"file:{path}"


def rendition_size(facts: ProbeFacts, max_height: int = 720) -> tuple[int, int]:
    """Display size of the web rendition: short side at most max_height, never upscaled."""
    width = facts.display_width * (facts.sample_aspect_ratio if facts.rotation in (0, 180) else 1)
    height = facts.display_height * (1 if facts.rotation in (0, 180) else facts.sample_aspect_ratio)
    if width <= 0 or height <= 0:
        raise ValueError("no picture size in the probe facts")
    scale = min(1.0, max_height / min(width, height))
    return _even(width * scale), _even(height * scale)


def storyboard_layout(
    duration_s: float,
    display_w: int,
    display_h: int,
    *,
    max_thumbnails: int = 300,
    min_interval_s: int = 2,
) -> StoryboardLayout:
    candidates = [i for i in STORYBOARD_INTERVALS_S if i >= min_interval_s]
    interval = next(
        (i for i in candidates if math.ceil(duration_s / i) <= max_thumbnails), candidates[-1]
    )
    count = max(1, math.ceil(duration_s / interval))
    per_sheet = SHEET_COLUMNS * SHEET_ROWS
    return StoryboardLayout(
        interval_s=interval,
        thumb_w=THUMB_WIDTH,
        thumb_h=_even(THUMB_WIDTH * display_h / display_w),
        columns=SHEET_COLUMNS,
        rows=SHEET_ROWS,
        count=count,
        sheets=math.ceil(count / per_sheet),
    )


def web_fps(facts: ProbeFacts) -> int:
    """Constant output rate: the source's, rounded, at most 30 (coaching needs no 60p).

    A variable-rate source (phones drop frames in dim rooms) gets the cap: its average
    undercounts the rate of its smooth stretches, and duplicated frames cost x264 little.
    """
    if not facts.fps or facts.is_vfr:
        return MAX_WEB_FPS
    return max(1, min(MAX_WEB_FPS, round(facts.fps)))


def _video_in(source: FilterableStream, facts: ProbeFacts) -> FilterableStream:
    # source["3"] compiles to 0:3 (bracketed inside a graph): the stream ffprobe numbered 3.
    return source[str(facts.video_index) if facts.video_index is not None else "v:0"]


def _audio_in(source: FilterableStream, facts: ProbeFacts) -> FilterableStream:
    return source[str(facts.audio_index) if facts.audio_index is not None else "a:0"]


def _command(outputs: list[OutputStream], binary: str, *, progress: bool) -> list[str]:
    flags = [*COMMON_FLAGS, *(PROGRESS_FLAGS if progress else [])]
    return ffmpeg_python.merge_outputs(*outputs).global_args(*flags).compile(cmd=binary)


def remux_args(src: Path, dst: Path, facts: ProbeFacts, *, ffmpeg: str = "ffmpeg") -> list[str]:
    """Fast path: copy H.264/AAC into an MP4 with the index up front (playable while loading).

    The display matrix travels with the copied stream, and browsers honour it.
    """
    source = ffmpeg_python.input(_file(src))
    streams = [_video_in(source, facts)]
    if facts.has_audio:
        streams.append(_audio_in(source, facts))
    web = ffmpeg_python.output(*streams, _file(dst), f="mp4", c="copy", **MP4_FOR_WEB)
    return _command([web], ffmpeg, progress=True)


# The web rendition's sound; the redacted rendition (media/redaction.py) uses it too.
WEB_AUDIO_OPTIONS: dict[str, Any] = {"c:a": "aac", "b:a": "128k", "ac": 2}


def web_video_options(facts: ProbeFacts, *, preset: str = "veryfast", crf: int = 23) -> dict:
    """x264 output options of the web rendition, shared by every rendition a browser plays."""
    gop = web_fps(facts) * KEYFRAME_INTERVAL_S
    return {
        "c:v": "libx264",
        "profile:v": "high",
        "pix_fmt": "yuv420p",
        "preset": preset,
        "crf": crf,
        # Fixed 2 s GOP: seeking and any later segmenting land on keyframes.
        "g": gop,
        "keyint_min": gop,
        "sc_threshold": 0,
        "fps_mode": "cfr",
    }


def _fps_expr(count: int, duration_s: float) -> str:
    # An exact rational keeps ffmpeg from rounding a float rate.
    return f"{count}/{duration_s:.3f}"


def tone_map_to_sdr(video: FilterableStream) -> FilterableStream:
    # HLG/PQ footage (iPhone default HEVC) looks washed out when squeezed into 8-bit BT.709
    # without a tone map; zscale comes with this build of ffmpeg (libzimg).
    return (
        video.filter("zscale", t="linear", npl=100)
        .filter("format", "gbrpf32le")
        .filter("zscale", p="bt709")
        .filter("tonemap", tonemap="hable", desat=0)
        .filter("zscale", t="bt709", m="bt709", r="tv")
        .filter("format", "yuv420p")
    )


def _derived_video(
    video: FilterableStream,
    facts: ProbeFacts,
    layout: StoryboardLayout,
    *,
    max_height: int,
    poster_candidates: int,
) -> tuple[FilterableStream, FilterableStream, FilterableStream, FilterableStream | None]:
    """One decode, three branches: web rendition, storyboard sheets, poster candidates; and
    a fourth, the progress track, when the clip has no sound to measure progress by.

    Decoded frames arrive already turned upright (ffmpeg autorotates by default), so every
    branch scales to display size and the encoder writes no rotation.
    `fps=1/N` keeps the frame just before the middle of each N-second interval;
    `eof_action=pass` makes it emit the last, partial interval instead of dropping it.
    """
    width, height = rendition_size(facts, max_height)
    duration = facts.duration_s or 0.0
    if facts.is_hdr:
        video = tone_map_to_sdr(video)
    # ffmpeg-python gives split one output per branch that reads it: split=3.
    split = video.split()
    web = (
        split[0]
        .filter("fps", web_fps(facts))
        .filter("scale", width, height)
        .filter("setsar", 1)
        .filter("format", "yuv420p")
    )
    storyboard = (
        split[1]
        .filter("fps", f"1/{layout.interval_s}", eof_action="pass")
        .filter("scale", layout.thumb_w, layout.thumb_h)
        .filter("setsar", 1)
        .filter("tile", f"{layout.columns}x{layout.rows}")
    )
    posters = (
        split[2]
        .filter("fps", _fps_expr(poster_candidates, duration), eof_action="pass")
        .filter("scale", width, height)
        .filter("setsar", 1)
    )
    track = None
    if not facts.has_audio:
        track = (
            split[3]
            .filter("fps", PROGRESS_TRACK_FPS)
            .filter("scale", 2, 2)
            .filter("format", "gray")
        )
    return web, storyboard, posters, track


def transcode_args(
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
    web_rendition: bool = True,
) -> list[str]:
    """The whole derived set from one ffmpeg process (measured ~1.03x a plain transcode).

    Outputs in out_dir: web.mp4, storyboard-000.jpg..., poster-cand-00.jpg..., and
    waveform.pcm (mono s16le at 4 kHz) when the source has sound, else progress.gray.
    Without `web_rendition` only the images and the waveform (the source is web-ready
    already: a redaction's).
    """
    if "%" in str(out_dir):
        raise ValueError("out_dir must not contain '%': image outputs use it as a pattern")
    source = ffmpeg_python.input(_file(src))
    web, storyboard, posters, track = _derived_video(
        _video_in(source, facts),
        facts,
        layout,
        max_height=max_height,
        poster_candidates=poster_candidates,
    )
    audio = _audio_in(source, facts) if facts.has_audio else None
    x264 = web_video_options(facts, preset=preset, crf=crf)
    aac = WEB_AUDIO_OPTIONS
    # (a) web rendition
    rendition = ffmpeg_python.output(
        *([web] if audio is None else [web, audio]),
        _file(out_dir / WEB_RENDITION),
        f="mp4",
        **x264,
        **({} if audio is None else aac),
        **MP4_FOR_WEB,
    )
    outputs = ([rendition] if web_rendition else []) + [
        # (b) storyboard sprite sheets; -frames:v bounds a stray extra sheet
        ffmpeg_python.output(
            storyboard,
            _file(out_dir / STORYBOARD_PATTERN),
            f="image2",
            start_number=0,
            **{"frames:v": layout.sheets, "q:v": 5},
        ),
        # (c) poster candidates
        ffmpeg_python.output(
            posters,
            _file(out_dir / POSTER_CANDIDATE_PATTERN),
            f="image2",
            start_number=0,
            **{"frames:v": poster_candidates, "q:v": 2},
        ),
    ]
    if audio is not None:
        # (d) waveform source: the same decoded audio, no second pass over the file
        outputs.append(
            ffmpeg_python.output(
                audio,
                _file(out_dir / WAVEFORM_PCM),
                f="s16le",
                ac=1,
                ar=WAVEFORM_SAMPLE_RATE,
                # Written as it is decoded, so its size tells the position reached.
                flush_packets=1,
                **{"c:a": "pcm_s16le"},
            )
        )
    if track is not None:
        # (d') no sound: a few bytes a second of the clip, for progress alone
        outputs.append(
            ffmpeg_python.output(
                track,
                _file(out_dir / PROGRESS_TRACK),
                f="rawvideo",
                flush_packets=1,
                **{"c:v": "rawvideo"},
            )
        )
    return _command(outputs, ffmpeg, progress=True)


def progress_track(out_dir: Path, facts: ProbeFacts) -> tuple[Path, int]:
    """The transcode's output whose size says how far it has got, and its bytes per second
    of the clip.

    ffmpeg's own -progress report says nothing until every output has begun, and the
    storyboard's first sheet begins only once it is full (100 thumbnails, or the end of the
    clip), so a short clip's report comes at the end; once it comes, a sheet's end time
    runs ahead of the work. The waveform PCM (or, for a silent clip, the progress track)
    is flushed packet by packet as the decode goes.
    """
    if facts.has_audio:
        return out_dir / WAVEFORM_PCM, WAVEFORM_SAMPLE_RATE * 2  # mono s16le
    return out_dir / PROGRESS_TRACK, PROGRESS_TRACK_FPS * PROGRESS_TRACK_FRAME_BYTES


def poster_seek_args(
    src: Path,
    dst: Path,
    at_s: float,
    facts: ProbeFacts,
    *,
    max_height: int = 720,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """One frame by input seeking (~0.2 s): a poster right after the fast path."""
    if facts.duration_s:
        at_s = min(at_s, max(0.0, facts.duration_s - 0.1))
    width, height = rendition_size(facts, max_height)
    # An input option (-ss before -i) seeks to the nearest keyframe: no decode from the start.
    source = ffmpeg_python.input(_file(src), ss=f"{max(0.0, at_s):.3f}")
    frame = _video_in(source, facts).filter("scale", width, height).filter("setsar", 1)
    poster = ffmpeg_python.output(
        frame, _file(dst), f="image2", update=1, **{"frames:v": 1, "q:v": 2}
    )
    return _command([poster], ffmpeg, progress=False)


def storyboard_sheet_paths(out_dir: Path, layout: StoryboardLayout) -> list[Path]:
    return [out_dir / (STORYBOARD_PATTERN % i) for i in range(layout.sheets)]


def poster_candidate_paths(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob(POSTER_CANDIDATE_PATTERN.replace("%02d", "[0-9][0-9]")))


def caption_file_name(n: int) -> str:
    return CAPTIONS_PATTERN.format(n=n)


def language_name(code: str | None) -> str | None:
    """'eng', 'en' or 'en-US' -> 'English'; unknown, missing or 'und' -> None."""
    if not code:
        return None
    return LANGUAGE_NAMES.get(code.strip().lower().replace("_", "-").split("-")[0])


def caption_file_names(facts: ProbeFacts) -> list[tuple[str, str | None, str]]:
    """(file name, language tag or None, label) per text caption track, as captions_args writes.

    The label is the track's title, else its language's name, else "Captions N" (from 1).
    """
    names = []
    for n, stream in enumerate(facts.text_subtitles):
        language = stream.language if stream.language and stream.language != "und" else None
        label = stream.title or language_name(language) or f"Captions {n + 1}"
        names.append((caption_file_name(n), language, label))
    return names


def captions_args(
    src: Path, out_dir: Path, facts: ProbeFacts, *, ffmpeg: str = "ffmpeg"
) -> list[str]:
    """Every text caption track to WebVTT (captions-0.vtt, ...) in one run; [] when none.

    Bitmap tracks (DVD, Blu-ray) are left out: they would need OCR.
    """
    tracks = facts.text_subtitles
    if not tracks:
        return []
    source = ffmpeg_python.input(_file(src))
    outputs = [
        ffmpeg_python.output(
            source[str(stream.index)],
            _file(out_dir / caption_file_name(n)),
            f="webvtt",
            **{"c:s": "webvtt"},
        )
        for n, stream in enumerate(tracks)
    ]
    return _command(outputs, ffmpeg, progress=False)
