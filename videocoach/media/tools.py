"""Startup check: are ffmpeg and ffprobe where the configuration says?"""

from __future__ import annotations

import shutil
from typing import Protocol


class _ToolSettings(Protocol):
    ffmpeg_binary: str
    ffprobe_binary: str


INSTALL_HINT = (
    "Install ffmpeg (Debian/Ubuntu: `sudo apt-get install ffmpeg`; macOS: `brew install ffmpeg`) "
    "or point {variable} at the program."
)


def missing_media_tools(settings: _ToolSettings) -> list[str]:
    """One plain sentence per missing program; empty when both are usable."""
    problems = []
    for variable, program in (
        ("FFMPEG_BINARY", settings.ffmpeg_binary),
        ("FFPROBE_BINARY", settings.ffprobe_binary),
    ):
        if shutil.which(program) is None:
            problems.append(
                f"{program} was not found ({variable}={program}). "
                + INSTALL_HINT.format(variable=variable)
            )
    return problems
