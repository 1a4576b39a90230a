"""The goals page's chart: a goal's evidence lesson by lesson on a time axis, each lesson a
column at the day it was recorded, stacked by comment kind.

Pure shaping, no Flask and no SQL: (comment kind, lesson) pairs in, positions out. The
template draws them as inline SVG whose x positions are percentages of its width, so the
same chart fills a phone or a desktop card with its text at its real size; heights are
pixels. A table of the same numbers goes with it (templates/partnerships/goals.html).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from videocoach.comments.models import CommentKind

KINDS = [kind.value for kind in CommentKind]  # bottom of a column to its top
KIND_NAMES = {
    "strength": ("strength", "strengths"),
    "question": ("question", "questions"),
    "suggestion": ("suggestion", "suggestions"),
    "note": ("note", "notes"),
}

# Geometry, in percent of the width (x) and pixels (y).
X_FIRST, X_LAST = 6.0, 94.0  # room for half a column and its number at either end
MIN_GAP = 5.0  # columns closer than this (percent) are moved apart, order kept
TOP = 20  # room for the number above the tallest column
PLOT_HEIGHT = 110
AXIS_Y = TOP + PLOT_HEIGHT
TICK_LABEL_Y = AXIS_Y + 20
HEIGHT = AXIS_Y + 30
MAX_TICKS = 5
EDGE = 15.0  # a tick label this close to an edge is anchored to it, not centred
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class LessonFacts:
    """What the chart needs of one clip."""

    clip_id: str
    title: str
    day: date  # recorded on, else the upload day
    recorded: bool  # False: `day` is the upload day


@dataclass(frozen=True)
class Segment:
    kind: str
    count: int
    y: float
    height: float


@dataclass
class Column:
    lesson: LessonFacts
    counts: dict[str, int]  # kind -> moments, every kind present
    x: float = 0.0  # percent
    segments: list[Segment] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def top(self) -> float:
        return min((s.y for s in self.segments), default=AXIS_Y)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    anchor: str  # "start" | "middle" | "end"


@dataclass
class EvidenceChart:
    columns: list[Column]
    ticks: list[Tick]
    kinds: list[str]  # the kinds that occur, in stacking order
    totals: dict[str, int]
    bar_width: float
    height: int = HEIGHT
    axis_y: int = AXIS_Y
    tick_label_y: int = TICK_LABEL_Y

    @property
    def moments(self) -> int:
        return sum(self.totals.values())

    @property
    def summary(self) -> str:
        """One sentence for people who cannot see the chart (its accessible name)."""
        return summary(self)


def counted(n: int, kind: str) -> str:
    one, many = KIND_NAMES.get(kind, (kind, kind + "s"))
    return f"{n} {one if n == 1 else many}"


def build(moments: Iterable[tuple[str, LessonFacts]]) -> EvidenceChart | None:
    """The chart of (comment kind, lesson) pairs; None when there is nothing to draw.
    Lessons come out in time order (the day, then the order given, for one day)."""
    by_lesson: dict[str, Counter[str]] = {}
    facts: dict[str, LessonFacts] = {}
    for kind, lesson in moments:
        by_lesson.setdefault(lesson.clip_id, Counter())[kind] += 1
        facts.setdefault(lesson.clip_id, lesson)
    if not by_lesson:
        return None
    order = {clip_id: i for i, clip_id in enumerate(by_lesson)}
    lessons = sorted(facts.values(), key=lambda f: (f.day, order[f.clip_id]))
    columns = [
        Column(lesson, {kind: by_lesson[lesson.clip_id][kind] for kind in KINDS})
        for lesson in lessons
    ]
    for column, x in zip(columns, positions([c.lesson.day for c in columns]), strict=True):
        column.x = x
    peak = max(column.total for column in columns)
    for column in columns:
        column.segments = stack(column.counts, peak)
    totals = {kind: sum(c.counts[kind] for c in columns) for kind in KINDS}
    return EvidenceChart(
        columns=columns,
        ticks=ticks([c.lesson.day for c in columns], columns),
        kinds=[kind for kind in KINDS if totals[kind]],
        totals={kind: n for kind, n in totals.items() if n},
        bar_width=bar_width(len(columns)),
    )


def positions(days: list[date]) -> list[float]:
    """x of each day (sorted), in percent: proportional to time between the first and the
    last lesson, then moved at least MIN_GAP apart (or evenly, when there are too many to
    keep that gap), never past X_FIRST or X_LAST."""
    n = len(days)
    if n == 0:
        return []
    gap = min(MIN_GAP, (X_LAST - X_FIRST) / (n - 1)) if n > 1 else 0.0
    span = (days[-1] - days[0]).days
    if span == 0:
        middle = (X_FIRST + X_LAST) / 2
        return [middle + (i - (n - 1) / 2) * gap for i in range(n)]
    xs = [X_FIRST + (day - days[0]).days / span * (X_LAST - X_FIRST) for day in days]
    for i in range(1, n):  # push right what crowds its left neighbour
        xs[i] = max(xs[i], xs[i - 1] + gap)
    xs[-1] = min(xs[-1], X_LAST)
    for i in range(n - 2, -1, -1):  # then back from the right edge
        xs[i] = min(xs[i], xs[i + 1] - gap)
    return [round(x, 2) for x in xs]


def stack(counts: dict[str, int], peak: int) -> list[Segment]:
    """A column's segments from the axis up, in KINDS order, scaled so `peak` fills the plot."""
    segments = []
    y = float(AXIS_Y)
    for kind in KINDS:
        n = counts.get(kind, 0)
        if not n:
            continue
        height = n / peak * PLOT_HEIGHT
        y -= height
        segments.append(Segment(kind, n, round(y, 2), round(height, 2)))
    return segments


def bar_width(columns: int) -> float:
    """14 px while columns have room (a 390 px phone has about 300 px to share), then narrower."""
    return round(max(4.0, min(14.0, 180 / columns)), 1)


def ticks(days: list[date], columns: list[Column]) -> list[Tick]:
    """Month starts when the lessons span two or more of them (at most MAX_TICKS labels);
    otherwise the first and last lesson days."""
    first, last = days[0], days[-1]
    starts = []
    month = date(first.year, first.month, 1)
    while True:
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if month > last:
            break
        starts.append(month)
    if len(starts) >= 2:
        span = (last - first).days
        step = math.ceil(len(starts) / MAX_TICKS)
        chosen = starts[::step]
        return [
            _tick(
                X_FIRST + (m - first).days / span * (X_LAST - X_FIRST),
                _month_label(m, i == 0),
            )
            for i, m in enumerate(chosen)
        ]
    if first == last:
        return [_tick(columns[0].x if len(columns) == 1 else 50.0, _day_label(first, True))]
    return [
        _tick(columns[0].x, _day_label(first, True)),
        _tick(columns[-1].x, _day_label(last, first.year != last.year)),
    ]


def _tick(x: float, label: str) -> Tick:
    anchor = "start" if x < EDGE else "end" if x > 100 - EDGE else "middle"
    return Tick(round(x, 2), label, anchor)


def _month_label(month: date, with_year: bool) -> str:
    name = MONTHS[month.month - 1]
    return f"{name} {month.year}" if with_year or month.month == 1 else name


def _day_label(day: date, with_year: bool) -> str:
    label = f"{day.day} {MONTHS[day.month - 1]}"
    return f"{label} {day.year}" if with_year else label


def summary(chart: EvidenceChart) -> str:
    columns = chart.columns
    lessons = len(columns)
    first, last = columns[0].lesson.day, columns[-1].lesson.day
    when = (
        f"on {first.isoformat()}"
        if first == last
        else f"from {first.isoformat()} to {last.isoformat()}"
    )
    kinds = ", ".join(counted(n, kind) for kind, n in chart.totals.items())
    moments = f"{chart.moments} moment{'s' if chart.moments != 1 else ''}"
    return f"{moments} in {lessons} lesson{'s' if lessons != 1 else ''} {when}: {kinds}."
