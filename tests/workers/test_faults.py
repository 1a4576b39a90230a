"""Faults while clips wait or are processed: the real pipeline, storage and broker code,
with the fault made for real (an obstructed path, a closed port, a stale claim)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.studio import make_studio
from tests.test_health import worker_beats
from videocoach import db
from videocoach.clips import dispatch, files
from videocoach.clips.models import Clip
from videocoach.db import utcnow
from workers import pipeline, tasks

CLOSED_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def queued(app, make_user, media_samples):
    """A teacher's clip, uploaded and waiting (no worker runs in these tests)."""
    studio = make_studio(app, make_user)
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    return studio, clip_id


def set_clip(app, clip_id: str, **values) -> None:
    with app.app_context():
        clip = db.session.get(Clip, clip_id)
        for name, value in values.items():
            setattr(clip, name, value)
        db.session.commit()


def read_clip(app, clip_id: str) -> Clip:
    with app.app_context():
        clip = db.session.get(Clip, clip_id)
        db.session.expunge(clip)
        return clip


def run_job(app, clip_id: str) -> bool:
    with app.app_context():
        return pipeline.process_clip(clip_id)


def test_a_storage_write_error_fails_the_clip_with_a_sentence_and_try_again_works(queued):
    studio, clip_id = queued
    app = studio.app
    media_root = app.extensions["videocoach.settings"].data_dir / "media"
    # A folder where the web rendition must go: the storage refuses the file.
    obstruction = media_root / files.key(clip_id, files.WEB)
    obstruction.mkdir(parents=True)
    (obstruction / "in-the-way").write_text("x")
    assert run_job(app, clip_id)
    clip = studio.clip(clip_id)
    assert clip["status"] == "failed"
    assert clip["error"] == pipeline.STORAGE_FAILED
    assert clip["can_retry"] is True
    page = studio.get(f"/clips/{clip_id}")
    assert b"Try again" in page.data
    (obstruction / "in-the-way").unlink()
    obstruction.rmdir()
    again = studio.client().post(f"/api/v1/clips/{clip_id}/retry", headers=studio.headers())
    assert again.status_code == 202
    assert run_job(app, clip_id)
    assert studio.clip(clip_id)["status"] == "ready"


def test_a_clip_whose_attempts_all_died_fails_after_the_cap_and_try_again_resets_it(queued):
    """Seen: Clip.attempts was written and never read, so a file that killed its worker was
    redelivered forever. Here three attempts died (claimed, then their heartbeat went stale)."""
    studio, clip_id = queued
    app = studio.app
    stale = utcnow() - timedelta(minutes=10)
    set_clip(app, clip_id, status="processing", job_token="dead", heartbeat_at=stale, attempts=3)
    assert run_job(app, clip_id)
    clip = studio.clip(clip_id)
    assert clip["status"] == "failed"
    assert clip["error"] == pipeline.GAVE_UP.format(attempts=3)
    assert clip["can_retry"] is True
    again = studio.client().post(f"/api/v1/clips/{clip_id}/retry", headers=studio.headers())
    assert again.status_code == 202
    assert read_clip(app, clip_id).attempts == 0
    assert run_job(app, clip_id)
    assert studio.clip(clip_id)["status"] == "ready"
    assert read_clip(app, clip_id).attempts == 1


def test_an_attempt_given_back_cleanly_does_not_count(queued):
    studio, clip_id = queued
    with studio.app.app_context():
        token = pipeline.claim(clip_id)
        assert db.session.get(Clip, clip_id).attempts == 1
        pipeline.release(clip_id, token)
        db.session.expire_all()
        assert db.session.get(Clip, clip_id).attempts == 0


def test_an_upload_while_the_broker_is_down_is_kept_and_handed_over_when_it_returns(
    make_app, make_user, media_samples
):
    """Seen: with the broker at a closed port the upload answered 500, the clip stayed queued
    until some worker restarted, and a client that retried made a duplicate."""
    broken = make_app(CELERY_BROKER_URL=CLOSED_BROKER)
    studio = make_studio(broken, make_user)
    response = studio.upload(media_samples["h264_aac.mp4"])
    assert response.status_code == 202  # the lesson is safe: nothing to send again
    clip_id = response.json["clip"]["id"]
    clip = read_clip(broken, clip_id)
    assert clip.status == "queued" and clip.dispatched_at is None
    assert studio.storage().exists(files.key(clip_id, files.ORIGINAL))
    with broken.app_context():
        assert dispatch.reconcile() == []  # still down: nothing is marked as handed over
    assert read_clip(broken, clip_id).dispatched_at is None
    # The broker is back (here: the embedded one, on the same database and data).
    back = make_app()
    with back.app_context():
        assert dispatch.reconcile() == [clip_id]
        assert dispatch.reconcile() == []  # handed over once, not on every pass
    assert read_clip(back, clip_id).dispatched_at is not None
    queue = back.extensions["videocoach.settings"].embedded_queue_dir
    assert len(list(queue.iterdir())) == 1


def test_reconcile_hands_over_only_clips_nobody_works_on(queued):
    studio, clip_id = queued
    app = studio.app
    with app.app_context():
        assert dispatch.reconcile() == []  # just uploaded and handed over
    set_clip(app, clip_id, status="processing", job_token="live", heartbeat_at=utcnow())
    with app.app_context():
        assert dispatch.reconcile() == []  # a live job holds it
    set_clip(app, clip_id, heartbeat_at=utcnow() - timedelta(minutes=10))
    with app.app_context():
        assert dispatch.reconcile() == [clip_id]  # its job died: hand it over now


def test_a_waiting_clip_says_why_and_the_admins_are_told_once(queued, make_user, caplog):
    studio, clip_id = queued
    app = studio.app
    make_user(admin=True)
    worker_beats(app)
    assert studio.clip(clip_id)["delay"] is None  # just uploaded, and a worker is alive
    set_clip(app, clip_id, queued_at=utcnow() - timedelta(minutes=1))
    assert studio.clip(clip_id)["delay"] == dispatch.CATCHING_UP
    assert dispatch.CATCHING_UP.encode() in studio.get(f"/clips/{clip_id}").data
    set_clip(app, clip_id, queued_at=utcnow() - timedelta(hours=1))
    with caplog.at_level(logging.ERROR, logger="videocoach.clips.dispatch"):
        assert studio.clip(clip_id)["delay"] == dispatch.DELAYED
        assert studio.clip(clip_id)["delay"] == dispatch.DELAYED
    reports = [r for r in caplog.records if "has waited" in r.getMessage()]
    assert len(reports) == 1
    assert read_clip(app, clip_id).delay_reported_at is not None


def test_scratch_space_is_removed_after_a_job_and_by_the_clean_up(queued):
    studio, clip_id = queued
    app = studio.app
    data_dir = app.extensions["videocoach.settings"].data_dir
    leftover = files.scratch_dir(data_dir, "a-clip-a-crash-left") / "out"
    leftover.mkdir(parents=True)
    (leftover / "web.mp4").write_bytes(b"private video")
    assert run_job(app, clip_id)
    assert not files.scratch_dir(data_dir, clip_id).exists()
    with app.app_context():
        assert tasks.clean_scratch_space() == 1
    assert list(files.scratch_root(data_dir).iterdir()) == []


def test_deleting_a_clip_removes_its_scratch_space_and_stored_files(queued):
    studio, clip_id = queued
    data_dir = studio.app.extensions["videocoach.settings"].data_dir
    scratch = files.scratch_dir(data_dir, clip_id)
    scratch.mkdir(parents=True)
    (scratch / "web.mp4").write_bytes(b"partial")
    response = studio.client().delete(f"/api/v1/clips/{clip_id}", headers=studio.headers())
    assert response.status_code == 204
    assert not scratch.exists()
    assert not list((data_dir / "media").rglob(f"*{clip_id}*"))
