"""WebVTT that maps timeline ranges to thumbnails in the storyboard sprite sheets."""

from __future__ import annotations

from collections.abc import Callable

from videocoach.media.commands import StoryboardLayout


def vtt_timestamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def storyboard_vtt(
    layout: StoryboardLayout, duration_s: float, sheet_url: Callable[[int], str]
) -> str:
    """One cue per thumbnail; cues tile 0..duration_s with no gap, the last ending on it."""
    lines = ["WEBVTT", ""]
    for index in range(layout.count):
        start = index * layout.interval_s
        if start >= duration_s and index > 0:
            break  # a probe duration that disagrees with the layout: never cue past the end
        end = (
            duration_s if index == layout.count - 1 else min(start + layout.interval_s, duration_s)
        )
        sheet, position = divmod(index, layout.per_sheet)
        row, column = divmod(position, layout.columns)
        x, y = column * layout.thumb_w, row * layout.thumb_h
        lines += [
            f"{vtt_timestamp(start)} --> {vtt_timestamp(end)}",
            f"{sheet_url(sheet)}#xywh={x},{y},{layout.thumb_w},{layout.thumb_h}",
            "",
        ]
    return "\n".join(lines)
