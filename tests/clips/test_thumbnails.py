from __future__ import annotations

from videocoach.clips.models import Clip
from videocoach.clips.services import moment_thumbnail


def clip(**layout: int) -> Clip:
    values = {
        "storyboard_interval_s": 2,
        "storyboard_thumb_w": 160,
        "storyboard_thumb_h": 90,
        "storyboard_columns": 10,
        "storyboard_rows": 10,
        "duration_ms": 600_000,
    }
    return Clip(**(values | layout))


def test_moment_thumbnail_finds_sheet_row_and_column():
    assert moment_thumbnail(clip(), 0).sheet == "storyboard/000.jpg"
    thumb = moment_thumbnail(clip(), 25_500)  # frame 12: row 1, column 2
    assert (thumb.x, thumb.y, thumb.width, thumb.height) == (320, 90, 160, 90)
    assert (thumb.sheet_width, thumb.sheet_height) == (1600, 900)
    assert moment_thumbnail(clip(), 200_000).sheet == "storyboard/001.jpg"  # frame 100


def test_moment_thumbnail_stays_within_the_clip_and_waits_for_a_storyboard():
    last = moment_thumbnail(clip(duration_ms=4_000), 9_999_000)
    assert (last.sheet, last.x) == ("storyboard/000.jpg", 160)
    assert moment_thumbnail(clip(storyboard_interval_s=None), 1000) is None
