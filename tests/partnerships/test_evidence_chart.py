"""The goals chart's shaping: lessons in time order at proportional positions, kept apart,
stacked by kind, with ticks and a sentence that says it all. Pure functions: no app."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest

from videocoach.partnerships import evidence_chart as chart_module
from videocoach.partnerships.evidence_chart import (
    AXIS_Y,
    MIN_GAP,
    PLOT_HEIGHT,
    X_FIRST,
    X_LAST,
    LessonFacts,
    build,
    positions,
    ticks,
)


def lesson(clip_id: str, day: date, recorded: bool = True) -> LessonFacts:
    return LessonFacts(clip_id=clip_id, title=f"Lesson {clip_id}", day=day, recorded=recorded)


def test_nothing_to_draw_is_no_chart():
    assert build([]) is None


def test_lessons_come_in_time_order_with_counts_by_kind_and_stacked_segments():
    october = lesson("oct", date(2026, 10, 5))
    september = lesson("sep", date(2026, 9, 20), recorded=False)
    chart = build(
        [
            ("strength", october),
            ("suggestion", september),
            ("strength", september),
            ("question", september),
            ("strength", september),
        ]
    )
    assert [c.lesson.clip_id for c in chart.columns] == ["sep", "oct"]
    sep, oct_ = chart.columns
    assert sep.counts == {"strength": 2, "question": 1, "suggestion": 1, "note": 0}
    assert (sep.total, oct_.total) == (4, 1)
    # The tallest column fills the plot; segments sit on one another from the axis up.
    assert [s.kind for s in sep.segments] == ["strength", "question", "suggestion"]
    assert sep.segments[0].y + sep.segments[0].height == pytest.approx(AXIS_Y)
    assert sum(s.height for s in sep.segments) == pytest.approx(PLOT_HEIGHT)
    for lower, upper in pairwise(sep.segments):
        assert upper.y + upper.height == pytest.approx(lower.y)
    assert oct_.segments[0].height == pytest.approx(PLOT_HEIGHT / 4)
    assert chart.kinds == ["strength", "question", "suggestion"]
    assert chart.totals == {"strength": 3, "question": 1, "suggestion": 1}
    assert chart.summary == (
        "5 moments in 2 lessons from 2026-09-20 to 2026-10-05: "
        "3 strengths, 1 question, 1 suggestion."
    )


def test_positions_follow_the_calendar_between_the_first_and_last_lesson():
    days = [date(2026, 9, 1), date(2026, 9, 11), date(2026, 10, 1)]
    xs = positions(days)
    assert xs[0] == X_FIRST and xs[-1] == X_LAST
    # 10 of 30 days in: a third of the way along.
    assert xs[1] == pytest.approx(X_FIRST + (X_LAST - X_FIRST) / 3, abs=0.01)


def test_lessons_close_in_time_are_kept_apart_and_inside_the_plot():
    days = [date(2026, 9, 1), date(2026, 9, 1), date(2026, 9, 2), date(2026, 12, 1)]
    xs = positions(days)
    assert xs == sorted(xs)
    assert all(b - a >= MIN_GAP - 0.01 for a, b in pairwise(xs))
    assert xs[0] >= X_FIRST and xs[-1] <= X_LAST


def test_lessons_all_on_one_day_are_centred():
    xs = positions([date(2026, 9, 1)] * 3)
    assert xs[1] == pytest.approx(50.0)
    assert xs[0] == pytest.approx(50.0 - MIN_GAP) and xs[2] == pytest.approx(50.0 + MIN_GAP)
    assert positions([date(2026, 9, 1)]) == [50.0]


def test_many_lessons_share_the_width_evenly_when_the_gap_cannot_be_kept():
    days = [date(2026, 9, 1)] * 30 + [date(2026, 9, 2)]
    xs = positions(days)
    assert min(xs) >= X_FIRST and max(xs) <= X_LAST + 0.01
    gaps = [b - a for a, b in pairwise(xs)]
    assert min(gaps) > 0
    assert build([("note", lesson(str(i), day)) for i, day in enumerate(days)]).bar_width < 14


def test_ticks_are_month_starts_across_months_and_lesson_days_within_one():
    across = [date(2026, 9, 20), date(2026, 11, 14)]
    labels = [t.label for t in ticks(across, build_columns(across))]
    assert labels == ["Oct 2026", "Nov"]
    within = [date(2026, 9, 3), date(2026, 9, 24)]
    found = ticks(within, build_columns(within))
    assert [t.label for t in found] == ["3 Sep 2026", "24 Sep"]
    # Labels at the edges are anchored to them, so they never run off the chart.
    assert [t.anchor for t in found] == ["start", "end"]


def test_a_long_span_shows_at_most_five_month_ticks_and_names_each_january_with_its_year():
    days = [date(2025, 9, 15), date(2027, 6, 1)]
    labels = [t.label for t in ticks(days, build_columns(days))]
    assert len(labels) <= chart_module.MAX_TICKS
    assert labels[0].endswith("2025")
    assert all(label.endswith(("2026", "2027")) for label in labels if label.startswith("Jan"))


def test_one_lesson_has_one_tick_under_it():
    day = date(2026, 9, 3)
    chart = build([("note", lesson("a", day))])
    assert [(t.label, t.x) for t in chart.ticks] == [("3 Sep 2026", 50.0)]
    assert chart.summary == "1 moment in 1 lesson on 2026-09-03: 1 note."


def build_columns(days: list[date]):
    return build([("note", lesson(str(i), day)) for i, day in enumerate(days)]).columns
