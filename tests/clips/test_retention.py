"""Retention (issue 14): originals deleted N days after upload once the web rendition
exists, clips M days after upload with a warning to their uploader 14 days ahead, and
"Keep for another year". The daily job runs here as a worker task (Celery's apply, in the
app context a worker gives it) with the clock passed in."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import post_form, sign_in_as
from tests.studio import Studio, make_studio
from videocoach import db
from videocoach.clips import files, retention
from videocoach.clips.models import AssetKind, Clip, ClipAsset
from videocoach.config import Settings
from videocoach.errors import ConfigError
from videocoach.notifications.models import Event, Notification

ORIGINALS_DAYS = 30
CLIPS_DAYS = 365


@pytest.fixture
def studio(make_app, make_user) -> Studio:
    app = make_app(
        VIDEOCOACH_TASKS_EAGER="1",
        VIDEOCOACH_KEEP_ORIGINALS_DAYS=str(ORIGINALS_DAYS),
        VIDEOCOACH_KEEP_CLIPS_DAYS=str(CLIPS_DAYS),
    )
    return make_studio(app, make_user)


def run_retention(studio: Studio, now: datetime) -> dict[str, list[str]]:
    """The daily job, as a worker runs it (the task opens its own app context)."""
    task = studio.app.extensions["celery"].tasks[retention.APPLY_RETENTION]
    result = task.apply(args=[now.isoformat()])
    assert result.successful(), result.traceback
    return result.get()


def uploaded(studio: Studio, sample: Path) -> tuple[str, datetime]:
    answer = studio.upload(sample, visibility="shared")
    assert answer.status_code == 202, answer.json
    clip_id = answer.json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"
    with studio.app.app_context():
        return clip_id, db.session.get(Clip, clip_id).created_at


def stored(studio: Studio, clip_id: str) -> set[str]:
    prefix = files.clip_prefix(clip_id)
    return {item.key.removeprefix(prefix) for item in studio.storage().list_objects(prefix)}


def asset_kinds(studio: Studio, clip_id: str) -> set[str]:
    with studio.app.app_context():
        return set(db.session.scalars(select(ClipAsset.kind).where(ClipAsset.clip_id == clip_id)))


def outbox(studio: Studio) -> list:
    folder = studio.app.extensions["videocoach.settings"].data_dir / "outbox"
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def warnings_of(studio: Studio, clip_id: str) -> list[Notification]:
    with studio.app.app_context():
        return list(
            db.session.scalars(
                select(Notification).where(
                    Notification.clip_id == clip_id,
                    Notification.event == Event.CLIP_EXPIRING.value,
                )
            )
        )


def a_clip_without_a_rendition(studio: Studio, created_at: datetime) -> str:
    """A clip whose processing failed before the web rendition: only its original."""
    with studio.app.app_context():
        clip = Clip(
            partnership_id=studio.pid,
            uploaded_by_id=studio.teacher_id,
            title="Broken",
            status="failed",
            created_at=created_at,
        )
        db.session.add(clip)
        db.session.flush()
        key = files.key(clip.id, files.ORIGINAL)
        size = studio.storage().put_bytes(key, b"not a video", "application/octet-stream").size
        db.session.add(
            ClipAsset(
                clip_id=clip.id, kind=AssetKind.ORIGINAL.value, name=files.ORIGINAL, key=key,
                size=size,
            )
        )  # fmt: skip
        db.session.commit()
        return clip.id


def test_originals_are_deleted_after_n_days_only_where_a_rendition_exists(
    studio, media_samples
) -> None:
    clip_id, created = uploaded(studio, media_samples["h264_aac.mp4"])
    broken = a_clip_without_a_rendition(studio, created)
    assert files.ORIGINAL in stored(studio, clip_id)

    early = run_retention(studio, created + timedelta(days=ORIGINALS_DAYS - 1))
    assert early["originals_deleted"] == []
    assert files.ORIGINAL in stored(studio, clip_id)

    done = run_retention(studio, created + timedelta(days=ORIGINALS_DAYS, hours=1))
    assert done["originals_deleted"] == [clip_id]
    assert files.ORIGINAL not in stored(studio, clip_id)
    assert AssetKind.ORIGINAL.value not in asset_kinds(studio, clip_id)
    assert files.WEB in stored(studio, clip_id)  # the clip still plays
    video = studio.get(studio.clip(clip_id)["media"]["video"], "coach")
    assert video.status_code == 200
    assert studio.get(f"/api/v1/clips/{clip_id}/media/original").status_code == 404
    # No rendition: the original is all there is, and it stays.
    assert files.ORIGINAL in stored(studio, broken)
    again = run_retention(studio, created + timedelta(days=ORIGINALS_DAYS + 1))
    assert again["originals_deleted"] == []


def test_the_uploader_is_warned_once_14_days_ahead_then_the_clip_and_its_files_go(
    studio, media_samples
) -> None:
    clip_id, created = uploaded(studio, media_samples["h264_aac.mp4"])
    mails_before = len(outbox(studio))  # "clip ready", if the teacher gets immediate emails

    assert run_retention(studio, created + timedelta(days=CLIPS_DAYS - 15))["warned"] == []
    assert warnings_of(studio, clip_id) == []

    warned_at = created + timedelta(days=CLIPS_DAYS - 14, hours=1)
    assert run_retention(studio, warned_at)["warned"] == [clip_id]
    assert run_retention(studio, warned_at + timedelta(days=1))["warned"] == []  # once
    assert len(warnings_of(studio, clip_id)) == 1
    mails = outbox(studio)[mails_before:]
    assert len(mails) == 1
    on = (warned_at + timedelta(days=14)).date().isoformat()
    assert f"will be deleted on {on}" in mails[0]["Subject"]
    assert f"/clips/{clip_id}" in mails[0].get_content()
    notes = studio.get("/api/v1/notifications").json["items"]
    assert any(f"will be deleted on {on}" in item["text"] for item in notes)
    assert studio.clip(clip_id)["delete_after"].startswith(on)

    # Its time is up, but the warning is not 14 days old yet: kept.
    almost = run_retention(studio, warned_at + timedelta(days=13))
    assert almost["clips_deleted"] == []
    assert stored(studio, clip_id)

    gone = run_retention(studio, warned_at + timedelta(days=14, hours=1))
    assert gone["clips_deleted"] == [clip_id]
    assert stored(studio, clip_id) == set()
    with studio.app.app_context():
        assert db.session.get(Clip, clip_id) is None
    assert studio.get(f"/api/v1/clips/{clip_id}").status_code == 404


def test_keep_for_another_year_saves_a_warned_clip(studio, media_samples, monkeypatch) -> None:
    clip_id, created = uploaded(studio, media_samples["h264_aac.mp4"])
    warned_at = created + timedelta(days=CLIPS_DAYS - 14, hours=1)
    assert run_retention(studio, warned_at)["warned"] == [clip_id]

    # The teacher presses the button a week later (the clock frozen there).
    pressed_at = warned_at + timedelta(days=7)
    monkeypatch.setattr(retention, "utcnow", lambda: pressed_at)
    client = studio.client()
    sign_in_as(client, studio.teacher_id)
    page = client.get(f"/clips/{clip_id}").get_data(as_text=True)
    assert "Keep for another year" in page
    kept = post_form(client, f"/clips/{clip_id}/keep", follow_redirects=True)
    assert "Kept until" in kept.get_data(as_text=True)

    later = run_retention(studio, warned_at + timedelta(days=30))
    assert later["clips_deleted"] == []
    assert later["warned"] == []
    assert stored(studio, clip_id)
    # Warned again 14 days before the year is up, and deleted only after that.
    year_on = pressed_at + timedelta(days=365)
    assert run_retention(studio, year_on - timedelta(days=13))["warned"] == [clip_id]
    assert run_retention(studio, year_on + timedelta(days=1, hours=1))["clips_deleted"] == [clip_id]


def test_only_the_uploader_may_keep_a_clip_and_partners_see_no_button(pair) -> None:
    clip_id = pair.add_clip_row()
    coach = pair.client().post(f"/api/v1/clips/{clip_id}/keep", headers=pair.headers("coach"))
    assert coach.status_code == 403
    teacher = pair.client().post(f"/api/v1/clips/{clip_id}/keep", headers=pair.headers())
    assert teacher.status_code == 200
    assert teacher.json["clip"]["kept_until"]
    assert teacher.json["clip"]["delete_after"] is None  # retention is off here
    client = pair.client()
    sign_in_as(client, pair.coach_id)
    assert "Keep for another year" not in client.get(f"/clips/{clip_id}").get_data(as_text=True)


def test_retention_is_off_unless_set_and_refuses_nonsense(tmp_path) -> None:
    base = {"VIDEOCOACH_DATA_DIR": str(tmp_path)}
    settings = Settings.from_env(base)
    assert settings.keep_originals_days is None and settings.keep_clips_days is None
    assert not retention.enabled(settings)
    set_ = Settings.from_env({**base, "VIDEOCOACH_KEEP_CLIPS_DAYS": " 400 "})
    assert set_.keep_clips_days == 400 and retention.enabled(set_)
    for bad in ("0", "-3", "1.5", "a year"):
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({**base, "VIDEOCOACH_KEEP_ORIGINALS_DAYS": bad})
        assert "VIDEOCOACH_KEEP_ORIGINALS_DAYS must be a whole number of days" in str(caught.value)


def test_with_retention_off_the_job_deletes_nothing(pair) -> None:
    clip_id = pair.add_clip_row()
    task = pair.app.extensions["celery"].tasks[retention.APPLY_RETENTION]
    far = (datetime.now().astimezone() + timedelta(days=10_000)).isoformat()
    assert task.apply(args=[far]).get() == {
        "originals_deleted": [], "warned": [], "clips_deleted": [], "unwarned": [],
    }  # fmt: skip
    assert pair.clip(clip_id)["status"] == "ready"


def test_each_worker_queues_the_daily_job_only_when_retention_is_on(studio, pair) -> None:
    from workers.celery_app import queue_retention

    clip_id = studio.add_clip_row()
    with studio.app.app_context():
        clip = db.session.get(Clip, clip_id)
        clip.created_at -= timedelta(days=CLIPS_DAYS)
        db.session.commit()
        settings = studio.app.extensions["videocoach.settings"]
        assert queue_retention(settings)  # eager here: the job runs at once, on today's clock
    assert len(warnings_of(studio, clip_id)) == 1
    with pair.app.app_context():
        assert not queue_retention(pair.app.extensions["videocoach.settings"])
