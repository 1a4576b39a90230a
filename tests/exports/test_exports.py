"""Exports per clip and per goal: CSV, WebVTT and printable summaries; private notes go
only to their author; spreadsheet formulas stay text."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.conftest import sign_in_as
from tests.partnerships.test_home_and_goals import add_clip, comment, goal, page


@pytest.fixture
def lesson(pair):
    pair.goal_id = goal(pair, "Wait time")
    pair.clip_id = add_clip(pair, "Fractions", date(2026, 10, 1))
    comment(
        pair,
        pair.clip_id,
        body="Great **pause**",
        t_start=65.5,
        kind="strength",
        goal_ids=[pair.goal_id],
    )
    comment(
        pair,
        pair.clip_id,
        "coach",
        body='=HYPERLINK("http://evil")',
        t_start=2,
        t_end=9,
        kind="question",
    )
    comment(
        pair,
        pair.clip_id,
        body="Note to self --> later",
        t_start=30,
        private=True,
        goal_ids=[pair.goal_id],
    )
    return pair


def download(pair, who: str, path: str):
    client = pair.app.test_client()
    sign_in_as(client, pair.teacher_id if who == "teacher" else pair.coach_id)
    return client.get(path)


def rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_clip_csv_in_time_order_with_private_notes_for_their_author_only(lesson):
    teacher = download(lesson, "teacher", f"/clips/{lesson.clip_id}/comments.csv")
    assert teacher.status_code == 200 and teacher.mimetype == "text/csv"
    assert "attachment" in teacher.headers["Content-Disposition"]
    assert teacher.headers["Cache-Control"] == "private, no-store"
    table = rows(teacher)
    assert [r["start"] for r in table] == ["0:02", "0:30", "1:05"]
    assert table[0]["end"] == "0:09" and table[0]["kind"] == "question"
    assert table[0]["comment"] == '\'=HYPERLINK("http://evil")'  # never a live formula
    assert table[1]["private"] == "yes"
    assert table[2]["goals"] == "Wait time" and table[2]["author"] == "Tess"
    coach = rows(download(lesson, "coach", f"/clips/{lesson.clip_id}/comments.csv"))
    assert [r["start"] for r in coach] == ["0:02", "1:05"]


def test_clip_comments_as_webvtt(lesson):
    vtt = download(lesson, "teacher", f"/clips/{lesson.clip_id}/comments.vtt")
    assert vtt.mimetype == "text/vtt"
    text = vtt.get_data(as_text=True)
    assert text.startswith("WEBVTT\n")
    assert "00:00:02.000 --> 00:00:09.000" in text  # a range keeps its end
    assert "00:01:05.500 --> 00:01:09.500" in text  # a moment shows for 4 s
    assert "<v Tess>[strength] Great **pause**" in text
    assert "Note to self --&gt; later" in text  # escaped: "-->" cannot end the cue
    coach_text = download(lesson, "coach", f"/clips/{lesson.clip_id}/comments.vtt").get_data(
        as_text=True
    )
    assert "Note to self" not in coach_text


def test_printable_summaries(lesson):
    html = download(lesson, "teacher", f"/clips/{lesson.clip_id}/summary").get_data(as_text=True)
    assert "<h1>Fractions</h1>" in html and "<strong>pause</strong>" in html
    assert "1 strength" in html and "1 question" in html
    assert "Recorded 2026-10-01" in html
    goal_page = download(lesson, "coach", f"/goals/{lesson.goal_id}/summary").get_data(as_text=True)
    assert "<h1>Wait time</h1>" in goal_page and "Fractions" in goal_page
    assert "Note to self" not in goal_page  # the teacher's private note stays theirs
    goal_rows = rows(download(lesson, "teacher", f"/goals/{lesson.goal_id}/comments.csv"))
    assert [r["start"] for r in goal_rows] == ["0:30", "1:05"]


def test_exports_are_linked_from_the_clip_and_goals_pages(lesson):
    goals_html = page(lesson, "teacher", f"/partnerships/{lesson.pid}/goals")
    assert f"/goals/{lesson.goal_id}/summary" in goals_html
    assert f"/goals/{lesson.goal_id}/comments.csv" in goals_html
