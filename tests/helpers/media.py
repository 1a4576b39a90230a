"""Generated lesson clips, for tests and benchmarks that need a real video file."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_lesson_clip_with(ffmpeg: str, out: Path, seconds: float, size: str = "320x240") -> Path:
    """An H.264/AAC MP4 made with lavfi sources, with its index at the end as phones write
    it: the ordinary upload that every stage of the pipeline must take."""
    video = f"testsrc2=size={size}:rate=30:duration={seconds}"
    audio = f"sine=duration={seconds}"
    command = [ffmpeg, "-nostdin", "-y", "-hide_banner", "-loglevel", "error"]
    command += ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    command += ["-c:a", "aac", "-shortest", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


def make_forged_duration_clip(ffmpeg: str, out: Path, seconds: float = 13980) -> Path:
    """Two pictures `seconds` apart in a couple of kilobytes: a file whose container declares
    hours (3 h 53 min by default) that a transcode at 30 frames a second would fill by
    repeating one picture (issue #11: ~2.5 minutes of worker time for a 1.6 KB upload)."""
    command = [ffmpeg, "-nostdin", "-y", "-hide_banner", "-loglevel", "error"]
    command += ["-f", "lavfi", "-i", "color=c=gray:size=320x240:rate=1:duration=2"]
    command += ["-vf", f"setpts=N*{seconds}/TB", "-fps_mode", "passthrough"]
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


def make_long_cheap_clip(
    ffmpeg: str, out: Path, seconds: float, size: str = "320x240", pictures_per_s: int = 2
) -> Path:
    """A real H.264/AAC MP4 of `seconds` that takes little to make and long to process: it
    keeps `pictures_per_s` pictures a second of a 30 fps source (variable frame rate, as
    phones write), and the web rendition is 30 fps. For tests and benches that need a
    long job without a long wait to make it."""
    video = f"testsrc2=size={size}:rate=30:duration={seconds}"
    command = [ffmpeg, "-nostdin", "-y", "-hide_banner", "-loglevel", "error"]
    command += ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", f"sine=duration={seconds}"]
    command += ["-vf", f"select='lt(mod(n\\,30)\\,{pictures_per_s})'", "-fps_mode", "vfr"]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    command += ["-c:a", "aac", "-shortest", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


def make_silent_clip_with(ffmpeg: str, out: Path, seconds: float, size: str = "320x240") -> Path:
    """As make_lesson_clip_with, without a sound track (screen recordings often have none)."""
    video = f"testsrc2=size={size}:rate=30:duration={seconds}"
    command = [ffmpeg, "-nostdin", "-y", "-hide_banner", "-loglevel", "error"]
    command += ["-f", "lavfi", "-i", video]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out
