"""`videocoach requeue CLIP_ID`: a failed clip goes back to the queue and then processes;
a clip that is ready, running or unknown is left alone with a sentence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.studio import make_studio
from videocoach import db
from videocoach.clips import files
from videocoach.clips.models import Clip
from videocoach.db import utcnow
from workers import pipeline


@pytest.fixture
def queued(make_app, make_user, media_samples):
    """A real upload on an app whose jobs wait in the embedded queue (no worker runs)."""
    studio = make_studio(make_app(), make_user)
    response = studio.upload(media_samples["h264_aac.mp4"], visibility="shared")
    assert response.status_code == 202, response.json
    return studio, response.json["clip"]["id"]


def read(app, clip_id: str) -> Clip:
    with app.app_context():
        clip = db.session.get(Clip, clip_id)
        db.session.expunge(clip)
        return clip


def change(app, clip_id: str, **values) -> None:
    with app.app_context():
        clip = db.session.get(Clip, clip_id)
        for name, value in values.items():
            setattr(clip, name, value)
        db.session.commit()


def queued_jobs(app) -> int:
    folder = app.extensions["videocoach.settings"].embedded_queue_dir
    return sum(1 for path in folder.iterdir() if path.is_file())


def fail_for_real(app, clip_id: str):
    """Run the real pipeline with the web rendition's place taken by a folder: storage
    refuses the file and the clip fails with the pipeline's sentence. Returns the folder."""
    media_root = app.extensions["videocoach.settings"].data_dir / "media"
    obstruction = media_root / files.key(clip_id, files.WEB)
    obstruction.mkdir(parents=True)
    (obstruction / "in-the-way").write_text("x")
    with app.app_context():
        assert pipeline.process_clip(clip_id)
    return obstruction


def test_requeue_moves_a_failed_clip_back_to_queued_and_it_then_processes(queued, cli):
    studio, clip_id = queued
    obstruction = fail_for_real(studio.app, clip_id)
    failed = read(studio.app, clip_id)
    assert failed.status == "failed" and failed.error == pipeline.STORAGE_FAILED
    (obstruction / "in-the-way").unlink()
    obstruction.rmdir()
    jobs_before = queued_jobs(studio.app)

    result = cli("requeue", clip_id)

    assert result.exit_code == 0, result.output
    assert f"Clip {clip_id} was failed; it is queued again with fresh attempts." in result.stdout
    clip = read(studio.app, clip_id)
    assert clip.status == "queued" and clip.error is None and clip.attempts == 0
    assert clip.dispatched_at is not None and clip.dispatched_at >= failed.updated_at
    assert queued_jobs(studio.app) == jobs_before + 1  # the job went to the broker
    with studio.app.app_context():
        assert pipeline.process_clip(clip_id)
    assert studio.clip(clip_id)["status"] == "ready"


def test_requeue_of_a_failed_clip_runs_it_at_once_when_jobs_are_eager(queued, cli):
    studio, clip_id = queued
    obstruction = fail_for_real(studio.app, clip_id)
    (obstruction / "in-the-way").unlink()
    obstruction.rmdir()
    result = cli("requeue", clip_id, VIDEOCOACH_TASKS_EAGER="1")
    assert result.exit_code == 0, result.output
    assert studio.clip(clip_id)["status"] == "ready"


def test_requeue_of_a_clip_whose_file_is_the_problem_needs_force(queued, cli):
    studio, clip_id = queued
    change(studio.app, clip_id, status="failed", can_retry=False, error="not a video")
    refused = cli("requeue", clip_id)
    assert refused.exit_code == 1
    assert "Trying again cannot help" in refused.stderr and "--force" in refused.stderr
    assert read(studio.app, clip_id).status == "failed"
    forced = cli("requeue", clip_id, "--force")
    assert forced.exit_code == 0, forced.output
    assert read(studio.app, clip_id).status == "queued"


def test_requeue_hands_over_a_clip_whose_worker_died(queued, cli):
    studio, clip_id = queued
    stale = utcnow() - timedelta(minutes=10)
    change(
        studio.app,
        clip_id,
        status="processing",
        job_token="dead",
        heartbeat_at=stale,
        dispatched_at=stale,
    )
    result = cli("requeue", clip_id)
    assert result.exit_code == 0, result.output
    assert "was processing with no worker holding it" in result.stdout
    assert read(studio.app, clip_id).dispatched_at > stale


def test_requeue_leaves_a_clip_a_worker_is_processing_alone(queued, cli):
    studio, clip_id = queued
    now = utcnow()
    change(
        studio.app,
        clip_id,
        status="processing",
        step="transcode",
        progress=0.43,
        job_token="alive",
        heartbeat_at=now,
        dispatched_at=now - timedelta(minutes=1),
    )
    result = cli("requeue", clip_id)
    assert result.exit_code == 1
    assert f"Clip {clip_id} is being processed right now (step transcode, 43%)" in result.stderr
    clip = read(studio.app, clip_id)
    assert clip.job_token == "alive" and clip.status == "processing"


def test_requeue_says_a_ready_clip_needs_nothing(studio, media_samples, cli):
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"
    result = cli("requeue", clip_id)
    assert result.exit_code == 1
    assert f"Clip {clip_id} is ready already: there is nothing to process." in result.stderr


def test_requeue_says_when_there_is_no_such_clip(app, cli):
    result = cli("requeue", "0" * 32)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"No clip has the id {'0' * 32}."
