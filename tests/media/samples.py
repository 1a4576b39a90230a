"""Tiny media files made with ffmpeg's lavfi sources: good inputs and bad ones.

`make_media_samples(directory)` is a plain function so any test folder can build the
same set (through its own session fixture) without importing this folder's conftest.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"

DURATION_S = 3
SIZE = "320x240"
FPS = 30


def _video(size: str = SIZE, duration: float = DURATION_S, rate: int = FPS) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={duration}"]


def _sine(duration: float = DURATION_S, frequency: int = 440) -> list[str]:
    spec = f"sine=frequency={frequency}:sample_rate=48000:duration={duration}"
    return ["-f", "lavfi", "-i", spec]


X264 = ["-c:v", "libx264", "-preset", "veryfast"]
AAC = ["-c:a", "aac", "-b:a", "64k"]


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run(
        [FFMPEG, "-nostdin", "-y", "-hide_banner", "-loglevel", "error", *map(str, args)],
        check=True,
        capture_output=True,
    )


def _rotate_90_clockwise(src: Path, dst: Path) -> None:
    """Stream copy with a display matrix saying "turn 90 degrees clockwise" (iPhone portrait).

    ffmpeg >= 6 has -display_rotation (counter-clockwise degrees, an input option).
    ffmpeg 5.1 lacks it; there `-metadata:s:v rotate=N` is turned into a display matrix
    of +N degrees counter-clockwise, the opposite of the legacy tag's meaning, so
    clockwise 90 is rotate=270 (checked by test_rotated_sample_is_portrait_clockwise).
    """
    try:
        _ffmpeg("-display_rotation:v:0", "-90", "-i", src, "-c", "copy", dst)
    except subprocess.CalledProcessError:
        _ffmpeg("-i", src, "-c", "copy", "-metadata:s:v:0", "rotate=270", dst)


# Every input format an upload may arrive in; each becomes a playable clip.
GOOD_SAMPLES = (
    "h264_aac.mp4",
    "h264_rotated.mp4",
    "hevc.mp4",
    "vp9.webm",
    "mjpeg.avi",
    "prores_or_h264.mov",
    "h264_444.mp4",
    "h264_10bit.mp4",
    "no_audio.mp4",
    "vfr.mp4",
)
# Files that are not a usable video; each must be refused with a plain sentence.
BAD_SAMPLES = (
    "empty.mp4",
    "text.mp4",
    "random.bin",
    "truncated.mp4",
    "image.png",
    "audio_only.m4a",
)


def make_media_samples(directory: Path) -> dict[str, Path]:
    """Build every sample in `directory` (about 2 s on two cores); names -> paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / name for name in (*GOOD_SAMPLES, *BAD_SAMPLES)}
    p = paths
    independent: list[Callable[[], None]] = [
        # Phone-like: H.264 High + AAC, index (moov) at the end as cameras write it.
        lambda: _ffmpeg(*_video(), *_sine(), *X264, "-pix_fmt", "yuv420p", *AAC, p["h264_aac.mp4"]),
        lambda: _ffmpeg(
            *_video(),
            *_sine(),
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
            "-tag:v",
            "hvc1",
            *AAC,
            p["hevc.mp4"],
        ),
        lambda: _ffmpeg(
            *_video(),
            *_sine(),
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "300k",
            "-c:a",
            "libopus",
            "-b:a",
            "48k",
            p["vp9.webm"],
        ),
        lambda: _ffmpeg(
            *_video(), *_sine(), "-c:v", "mjpeg", "-q:v", "8", "-c:a", "pcm_s16le", p["mjpeg.avi"]
        ),
        lambda: _ffmpeg(
            *_video(size="160x120", duration=2),
            *_sine(duration=2),
            "-c:v",
            "prores_ks",
            "-profile:v",
            "0",
            "-c:a",
            "pcm_s16le",
            p["prores_or_h264.mov"],
        ),
        lambda: _ffmpeg(*_video(duration=2), *X264, "-pix_fmt", "yuv444p", p["h264_444.mp4"]),
        lambda: _ffmpeg(*_video(duration=2), *X264, "-pix_fmt", "yuv420p10le", p["h264_10bit.mp4"]),
        lambda: _ffmpeg(*_video(), *X264, "-pix_fmt", "yuv420p", p["no_audio.mp4"]),
        # Variable frame rate: every frame for 1.5 s, then every third one.
        lambda: _ffmpeg(
            *_video(),
            *_sine(),
            "-vf",
            "select='lt(t,1.5)+not(mod(n,3))'",
            "-fps_mode",
            "vfr",
            *X264,
            "-pix_fmt",
            "yuv420p",
            *AAC,
            p["vfr.mp4"],
        ),
        lambda: _ffmpeg(*_video(), "-frames:v", "1", "-update", "1", p["image.png"]),
        lambda: _ffmpeg(*_sine(), *AAC, p["audio_only.m4a"]),
    ]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        for future in [pool.submit(job) for job in independent]:
            future.result()

    _rotate_90_clockwise(p["h264_aac.mp4"], p["h264_rotated.mp4"])
    whole = p["h264_aac.mp4"].read_bytes()
    p["truncated.mp4"].write_bytes(whole[: int(len(whole) * 0.4)])
    p["empty.mp4"].write_bytes(b"")
    p["text.mp4"].write_text("Minutes of the staff meeting.\nNot a video at all.\n" * 20)
    # Seeded: about one in sixty draws of os.urandom probes as a raw h263 stream.
    p["random.bin"].write_bytes(random.Random(0).randbytes(64 * 1024))
    return paths


def top_level_atoms(path: Path) -> list[str]:
    """The order of an MP4's top-level boxes (faststart: moov before mdat)."""
    atoms = []
    with path.open("rb") as file:
        while header := file.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:  # 64-bit size follows
                size = struct.unpack(">Q", file.read(8))[0]
                file.seek(size - 16, 1)
            else:
                file.seek(size - 8, 1)
            atoms.append(kind.decode("latin-1"))
    return atoms


ENGLISH_CUES = ("Keep your elbow high", "Now breathe out")
SPANISH_CUES = ("¡Codo alto!", "Ahora respira")


def _srt(cues: tuple[str, str]) -> str:
    first, second = cues
    return (
        f"1\n00:00:00,200 --> 00:00:00,900\n{first}\n\n2\n00:00:01,000 --> 00:00:01,800\n{second}\n"
    )


CAPTION_VIDEO = _video(size="160x120", duration=2, rate=10)
CAPTION_SINE = _sine(duration=2)
CAPTION_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
# Each of the three inputs as its own stream, in input order.
MAP_THREE_INPUTS = ["-map", "0", "-map", "1", "-map", "2"]


SPANISH_TITLE = "Notas del entrenador"


def make_captioned_samples(directory: Path) -> dict[str, Path]:
    """captioned.mp4 (one mov_text track, eng) and captioned_two.mkv (srt eng + spa, the
    Spanish track titled SPANISH_TITLE)."""
    directory.mkdir(parents=True, exist_ok=True)
    english = directory / "english.srt"
    spanish = directory / "spanish.srt"
    english.write_text(_srt(ENGLISH_CUES), encoding="utf-8")
    spanish.write_text(_srt(SPANISH_CUES), encoding="utf-8")
    mp4 = directory / "captioned.mp4"
    mkv = directory / "captioned_two.mkv"
    # video 0, audio 1, subtitle 2
    _ffmpeg(
        *CAPTION_VIDEO,
        *CAPTION_SINE,
        "-i",
        english,
        *MAP_THREE_INPUTS,
        *CAPTION_X264,
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-c:s",
        "mov_text",
        "-metadata:s:s:0",
        "language=eng",
        mp4,
    )
    # video 0, subtitles 1 and 2
    _ffmpeg(
        *CAPTION_VIDEO,
        "-i",
        english,
        "-i",
        spanish,
        *MAP_THREE_INPUTS,
        *CAPTION_X264,
        "-c:s",
        "srt",
        "-metadata:s:s:0",
        "language=eng",
        "-metadata:s:s:1",
        "language=spa",
        "-metadata:s:s:1",
        f"title={SPANISH_TITLE}",
        mkv,
    )
    return {"captioned.mp4": mp4, "captioned_two.mkv": mkv}
