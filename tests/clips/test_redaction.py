"""Redaction (issue 14): the uploader decides what the partnership sees. Real uploads, a
real worker (eager), real renders: the partner gets the trimmed, muted rendition and
never a byte of the unredacted one; comment times follow the trim."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.media import make_lesson_clip_with
from tests.media.samples import FFMPEG
from videocoach import db
from videocoach.clips import files
from videocoach.clips.models import Clip, ClipRedaction

LESSON_S = 6.0
MEDIA = "/api/v1/clips"
MEDIA_NAMES = ("video.mp4", "poster.jpg", "storyboard.vtt", "waveform.json", "storyboard/000.jpg")


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("redaction") / "lesson.mp4"
    return make_lesson_clip_with(FFMPEG, out, LESSON_S)


def uploaded(studio, lesson: Path) -> str:
    answer = studio.upload(lesson, title="Fractions", visibility="shared")
    assert answer.status_code == 202, answer.data
    clip_id = answer.json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"
    return clip_id


def comment(studio, clip_id: str, who: str, t: float, body: str) -> str:
    answer = studio.client().post(
        f"/api/v1/clips/{clip_id}/comments",
        json={"body": body, "t_start": t},
        headers=studio.headers(who),
    )
    assert answer.status_code == 201, answer.data
    return answer.json["comment"]["id"]


def comments_seen_by(studio, clip_id: str, who: str) -> dict[str, dict]:
    answer = studio.get(f"/api/v1/clips/{clip_id}/comments", who)
    assert answer.status_code == 200, answer.data
    return {item["body"]: item for item in answer.json["items"]}


def redact(studio, clip_id: str, who: str = "teacher", **settings) -> object:
    return studio.client().put(
        f"/api/v1/clips/{clip_id}/redaction", json=settings, headers=studio.headers(who)
    )


def fetched(studio, clip_id: str, name: str, who: str, tmp_path: Path) -> Path:
    answer = studio.get(f"/api/v1/clips/{clip_id}/media/{name}", who)
    assert answer.status_code == 200, (name, who, answer.status_code)
    path = tmp_path / f"{who}-{name.replace('/', '-')}"
    path.write_bytes(answer.data)
    return path


def duration_of(path: Path) -> float:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(probe.stdout)["format"]["duration"])


def loudness_dbfs(path: Path, start_s: float, end_s: float) -> float:
    """RMS of the sound between two moments, in dB below full scale."""
    cut = ["-ss", str(start_s), "-to", str(end_s), "-i", str(path)]
    pcm = subprocess.run(
        [FFMPEG, "-v", "error", *cut, "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768
    rms = math.sqrt(float(np.mean(samples**2))) if samples.size else 0.0
    return -200.0 if rms == 0 else 20 * math.log10(rms)


def test_the_partner_sees_only_the_trimmed_muted_part_and_comments_follow_it(
    studio, lesson, tmp_path
):
    clip_id = uploaded(studio, lesson)
    comment(studio, clip_id, "coach", 3.0, "Good wait time")
    comment(studio, clip_id, "coach", 0.5, "Before the lesson starts")
    before = {name: studio.get(f"{MEDIA}/{clip_id}/media/{name}").data for name in MEDIA_NAMES}

    answer = redact(studio, clip_id, trim=[2.0, 5.0], mute=[[3.0, 3.5]], blur_faces=True)
    assert answer.status_code == 202, answer.data
    assert answer.json["trim"] == [2.0, 5.0]

    assert studio.get(f"/api/v1/clips/{clip_id}/redaction").json["status"] == "ready"
    teacher_view, coach_view = studio.clip(clip_id), studio.clip(clip_id, "coach")
    assert teacher_view["redaction_status"] == "ready"
    assert coach_view["redaction_status"] is None  # the uploader's business
    for view in (teacher_view, coach_view):
        assert view["status"] == "ready"
        assert view["duration_s"] == pytest.approx(3.0, abs=0.1)

    shared = fetched(studio, clip_id, "video.mp4", "coach", tmp_path)
    assert duration_of(shared) == pytest.approx(3.0, abs=0.1)
    # Muted from 3.0 s to 3.5 s of the lesson: 1.0 s to 1.5 s of the shared part.
    assert loudness_dbfs(shared, 1.05, 1.45) < -60
    assert loudness_dbfs(shared, 0.2, 0.8) > -30
    assert loudness_dbfs(shared, 1.8, 2.6) > -30

    seen = comments_seen_by(studio, clip_id, "coach")
    assert seen["Good wait time"]["t_start"] == pytest.approx(1.0)
    assert seen["Before the lesson starts"]["outside_shared"] is True  # to its author
    assert "Before the lesson starts" not in comments_seen_by(studio, clip_id, "teacher")

    # The uploader keeps the recorded lesson; to the partner it does not exist, not a byte
    # of it through any media URL, whole or by Range.
    unredacted = fetched(studio, clip_id, "unredacted/video.mp4", "teacher", tmp_path)
    assert duration_of(unredacted) == pytest.approx(LESSON_S, abs=0.1)
    for name in MEDIA_NAMES:
        shared = studio.get(f"{MEDIA}/{clip_id}/media/{name}", "coach", Range="bytes=0-")
        assert shared.status_code in (200, 206), name
        assert shared.data and shared.data != before[name], name
        hidden = studio.get(f"{MEDIA}/{clip_id}/media/unredacted/{name}", "coach")
        assert hidden.status_code == 404, name
        assert studio.get(f"{MEDIA}/{clip_id}/media/unredacted/{name}").status_code == 200, name
    assert studio.get(f"{MEDIA}/{clip_id}/media/original", "coach").status_code == 404
    assert studio.get(f"{MEDIA}/{clip_id}/media/original").status_code == 200


def test_while_the_render_is_pending_partners_see_a_clip_being_processed(studio, lesson):
    clip_id = uploaded(studio, lesson)
    with studio.app.app_context():  # a render queued, not run yet
        db.session.add(ClipRedaction(clip_id=clip_id, blur_faces=True, status="pending"))
        db.session.commit()

    coach_view = studio.clip(clip_id, "coach")
    assert coach_view["status"] == "processing"
    assert set(coach_view["media"].values()) == {None}
    assert coach_view["captions"] == [] and coach_view["duration_s"] is None
    for name in MEDIA_NAMES:
        answer = studio.get(f"/api/v1/clips/{clip_id}/media/{name}", "coach", Range="bytes=0-9")
        assert answer.status_code == 404, name
        assert studio.get(f"/api/v1/clips/{clip_id}/media/{name}", "teacher").status_code == 200
    assert studio.clip(clip_id)["redaction_status"] == "pending"


def test_hiding_nothing_brings_the_recorded_lesson_back(studio, lesson):
    clip_id = uploaded(studio, lesson)
    comment(studio, clip_id, "coach", 3.0, "Good wait time")
    assert redact(studio, clip_id, trim=[2.0, 5.0]).status_code == 202
    assert comments_seen_by(studio, clip_id, "coach")["Good wait time"]["t_start"] == 1.0

    answer = redact(studio, clip_id)
    assert answer.status_code == 202
    assert studio.get(f"/api/v1/clips/{clip_id}/redaction").json["status"] is None
    view = studio.clip(clip_id, "coach")
    assert view["duration_s"] == pytest.approx(LESSON_S, abs=0.1)
    assert comments_seen_by(studio, clip_id, "coach")["Good wait time"]["t_start"] == 3.0
    with studio.app.app_context():
        names = {asset.name for asset in db.session.get(Clip, clip_id).assets}
    assert not any(name.startswith(files.UNREDACTED_DIR) for name in names)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"trim": [4.0, 2.0]}, "trim"),
        ({"trim": [9.0, 12.0]}, "trim"),
        ({"trim": [1.0, 1.2]}, "trim"),
        ({"mute": [[2.0, 1.0]]}, "mute.0"),
        (
            {"blur_regions": [{"t_start": 0, "t_end": 2, "x": 0.8, "y": 0, "w": 0.5, "h": 0.2}]},
            "blur_regions.0",
        ),
    ],
)
def test_settings_that_do_not_fit_the_clip_are_refused_with_the_reason(pair, settings, field):
    clip_id = pair.add_clip_row(duration_ms=6000)
    answer = redact(pair, clip_id, **settings)
    assert answer.status_code == 422, answer.data
    assert field in answer.json["error"]["fields"]
    assert pair.get(f"/api/v1/clips/{clip_id}/redaction").json["status"] is None


def test_only_the_uploader_may_see_or_change_what_is_hidden(pair):
    clip_id = pair.add_clip_row()
    assert redact(pair, clip_id, "coach", blur_faces=True).status_code == 403
    assert pair.get(f"/api/v1/clips/{clip_id}/redaction", "coach").status_code == 403
    assert redact(pair, clip_id, "outsider", blur_faces=True).status_code == 404
    saved = redact(pair, clip_id, blur_faces=True, mute=[[1, 2]])
    assert saved.status_code == 202
    assert pair.get(f"/api/v1/clips/{clip_id}/redaction").json == {
        "blur_faces": True,
        "trim": None,
        "mute": [[1.0, 2.0]],
        "blur_regions": [],
        "status": "pending",
        "progress": 0.0,
        "error": None,
    }
