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
