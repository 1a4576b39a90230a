"""Where clips are listed, a lesson is dated by the day it was recorded, not the day it was
uploaded; a clip without a recorded-on date says its date is the upload's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.partnerships.test_home_and_goals import add_clip, comment, goal, page
from videocoach import db
from videocoach.clips.models import Clip

RECORDED = date(2026, 3, 4)
UPLOADED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def uploaded_on(pair, clip_id: str, when: datetime = UPLOADED) -> None:
    with pair.app.app_context():
        db.session.get(Clip, clip_id).created_at = when
        db.session.commit()


@pytest.fixture
def clips(pair) -> dict[str, str]:
    recorded = add_clip(pair, "March lesson", RECORDED)
    undated = add_clip(pair, "Undated lesson", None)
    for clip_id in (recorded, undated):
        uploaded_on(pair, clip_id)
    wait_time = goal(pair, "Wait time")
    comment(pair, recorded, body="Long pause", goal_ids=[wait_time])
    comment(pair, undated, body="Short pause", goal_ids=[wait_time])
    return {"recorded": recorded, "undated": undated}


def card(html: str, title: str) -> str:
    """The list entry (a clip card, or a moment of the goals page) showing clip `title`."""
    shown = html.find(f'clip-title">{title}<')
    start = html.rindex("<li", 0, shown if shown >= 0 else html.index(f"<strong>{title}<"))
    return html[start : html.index("</li>", start)]


@pytest.mark.parametrize(
    "path",
    ["/partnerships/{pid}", "/partnerships/{pid}/clips", "/partnerships/{pid}/goals"],
    ids=["home", "clip list", "goals evidence"],
)
def test_clip_lists_show_the_recorded_on_date(pair, clips, path: str) -> None:
    html = page(pair, "teacher", path.format(pid=pair.pid))
    march = card(html, "March lesson")
    assert 'recorded <time datetime="2026-03-04">2026-03-04</time>' in march
    assert "2026-11-02" not in march  # the upload day is not the lesson's
    undated = card(html, "Undated lesson")
    assert 'uploaded <time datetime="2026-11-02">2026-11-02</time>' in undated
