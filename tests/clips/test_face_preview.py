"""The face preview (issue 14): before blurring, the uploader sees where the detector finds
faces in the lesson. A real upload of footage with a face at known moments, a real worker
(eager) and the real detector."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media.face_footage import DURATION_S, FACE_FROM_S, FACE_UNTIL_S, FPS, make_face_footage
from videocoach import db
from videocoach.clips import face_preview
from videocoach.clips.models import ClipFacePreview
from videocoach.media.faces import HOLD_FRAMES
from workers import face_preview as face_finder

FACES = "/api/v1/clips/{}/redaction/faces"


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_face_footage(tmp_path_factory.mktemp("preview") / "faces.mp4")


def uploaded(studio, footage: Path) -> str:
    answer = studio.upload(footage, title="Group work", visibility="shared")
    assert answer.status_code == 202, answer.data
    clip_id = answer.json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"
    return clip_id


def ask(studio, clip_id: str, who: str = "teacher"):
    return studio.client().post(FACES.format(clip_id), headers=studio.headers(who))


def test_the_preview_shows_where_the_face_is_in_view(studio, footage):
    clip_id = uploaded(studio, footage)
    before = studio.get(FACES.format(clip_id))
    assert before.status_code == 200
    assert before.json == {
        "status": None,
        "progress": None,
        "error": None,
        "spans": [],
        "most_at_once": 0,
    }

    answer = ask(studio, clip_id)
    assert answer.status_code == 202, answer.data

    preview = studio.get(FACES.format(clip_id)).json
    assert preview["status"] == "ready", preview
    assert preview["progress"] == 1.0
    assert preview["most_at_once"] == 1
    assert len(preview["spans"]) == 1, preview["spans"]
    span = preview["spans"][0]
    # Detection every third frame, and a face held HOLD_FRAMES after it is last seen (the
    # render blurs that long too).
    held_s = HOLD_FRAMES / FPS
    assert span["start"] == pytest.approx(FACE_FROM_S, abs=0.35)
    assert FACE_UNTIL_S - 0.3 <= span["end"] <= min(DURATION_S, FACE_UNTIL_S + held_s + 0.3)


def test_only_the_uploader_sees_or_asks_for_the_preview(studio, footage):
    clip_id = studio.add_clip_row()
    for call in (
        lambda: studio.get(FACES.format(clip_id), "coach"),
        lambda: ask(studio, clip_id, "coach"),
    ):
        answer = call()
        assert answer.status_code == 403, answer.data
        assert "uploaded" in answer.json["error"]["message"]
    assert studio.get(FACES.format(clip_id), "outsider").status_code == 404
    assert ask(studio, clip_id, "outsider").status_code == 404


def test_a_clip_still_processing_cannot_be_previewed_yet(studio):
    clip_id = studio.add_clip_row()
    with studio.app.app_context():
        from videocoach.clips.models import Clip

        db.session.get(Clip, clip_id).status = "processing"
        db.session.commit()
    answer = ask(studio, clip_id)
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "clip_not_ready"


def test_a_clip_without_its_video_fails_with_a_sentence(studio):
    clip_id = studio.add_clip_row()  # rows only: there is no rendition to look at
    assert ask(studio, clip_id).status_code == 202
    preview = studio.get(FACES.format(clip_id)).json
    assert preview["status"] == "failed"
    assert preview["error"] == face_preview.FAILED


def test_a_run_replaced_by_a_newer_request_changes_nothing(studio):
    clip_id = studio.add_clip_row()
    with studio.app.app_context():
        db.session.add(
            ClipFacePreview(clip_id=clip_id, version=2, status="pending", spans=[], face_count=0)
        )
        db.session.commit()
        face_finder.find_faces(clip_id, 1)  # the older request's job
        preview = db.session.get(ClipFacePreview, clip_id)
        assert (preview.status, preview.version) == ("pending", 2)


def test_near_spans_are_joined_and_times_are_milliseconds():
    assert face_preview.joined_spans([(0.5, 1.0), (1.6, 2.0), (4.0, 5.25)]) == [
        [500, 2000],
        [4000, 5250],
    ]
    many = [(n * 2.0, n * 2.0 + 0.5) for n in range(face_preview.MAX_SPANS + 10)]
    joined = face_preview.joined_spans(many)
    assert len(joined) == face_preview.MAX_SPANS
    assert joined[-1][1] == round(many[-1][1] * 1000)
