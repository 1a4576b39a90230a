"""The pipeline through a real `videocoach worker` process: on the embedded (file) transport
and on the Redis at 127.0.0.1:6379; a worker start re-queues what a crash left behind."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from datetime import timedelta

import pytest
import redis

from tests.conftest import app_config
from tests.helpers.processes import running
from tests.studio import make_studio
from videocoach import create_app, db
from videocoach.clips.models import Clip
from videocoach.db import utcnow

REDIS_URL = os.environ.get("VIDEOCOACH_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def worker_process(config: dict[str, str]) -> AbstractContextManager[subprocess.Popen]:
    """`videocoach worker` with the test's settings, stopped when the block ends."""
    return running(
        [sys.executable, "-m", "videocoach.cli", "worker", "--concurrency", "1"],
        env={**os.environ, **config},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_status(studio, clip_id: str, worker, statuses=("ready", "failed"), timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        clip = studio.clip(clip_id)
        if clip["status"] in statuses:
            return clip
        if worker.poll() is not None:
            raise AssertionError(f"worker exited:\n{worker.stdout.read()}")
        time.sleep(0.3)
    worker.terminate()
    raise AssertionError(f"clip still {clip['status']}; worker said:\n{worker.stdout.read()}")


@pytest.fixture
def worker_config(database_url, tmp_path, migrated_app, app):
    """Settings shared by the test's app and the worker process."""
    return app_config(database_url, tmp_path / "data")


def test_embedded_worker_processes_a_clip_queued_while_it_was_down(
    worker_config, make_user, media_samples
):
    studio = make_studio(create_app(worker_config), make_user)
    clip_id = studio.upload(media_samples["h264_aac.mp4"], visibility="shared").json["clip"]["id"]
    queue = studio.app.extensions["videocoach.settings"].data_dir / "queue"
    assert any(queue.iterdir())  # the job waits as a file: it survives a restart
    assert studio.clip(clip_id)["status"] == "queued"
    with worker_process(worker_config) as worker:
        clip = wait_for_status(studio, clip_id, worker)
    assert clip["status"] == "ready", clip["error"]
    assert all(clip["media"].values())
    assert studio.get(clip["media"]["video"], "coach").status_code == 200


def test_redis_worker_processes_clips(worker_config, make_user, media_samples):
    queue = f"videocoach-test-{secrets.token_hex(4)}"
    config = {**worker_config, "CELERY_BROKER_URL": REDIS_URL, "VIDEOCOACH_CELERY_QUEUE": queue}
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as error:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {error}")
    studio = make_studio(create_app(config), make_user)
    with worker_process(config) as worker:
        good = studio.upload(media_samples["hevc.mp4"]).json["clip"]["id"]
        bad = studio.upload(media_samples["audio_only.m4a"]).json["clip"]["id"]
        ready = wait_for_status(studio, good, worker)
        failed = wait_for_status(studio, bad, worker)
    assert ready["status"] == "ready", ready["error"]
    assert failed["status"] == "failed"
    assert failed["error"].startswith("This file has sound but no picture.")
    redis.Redis.from_url(REDIS_URL).delete(queue)


def test_worker_start_requeues_a_clip_a_crash_left_processing(
    worker_config, make_user, media_samples
):
    studio = make_studio(create_app(worker_config), make_user)
    clip_id = studio.upload(media_samples["no_audio.mp4"]).json["clip"]["id"]
    queue = studio.app.extensions["videocoach.settings"].data_dir / "queue"
    for message in queue.iterdir():  # the crash also lost the queued message
        message.unlink()
    with studio.app.app_context():
        clip = db.session.get(Clip, clip_id)
        clip.status = "processing"
        clip.job_token = "a-job-that-died"
        clip.heartbeat_at = utcnow() - timedelta(minutes=10)
        clip.progress = 0.4
        db.session.commit()
    with worker_process(worker_config) as worker:
        clip = wait_for_status(studio, clip_id, worker)
    assert clip["status"] == "ready", clip["error"]
    assert clip["progress"] == 1.0


def test_a_live_job_is_not_taken_over(app, make_user, media_samples):
    """A fresh heartbeat from another job means hands off; a stale one may be taken over."""
    from workers.pipeline import claim, process_clip

    studio = make_studio(app, make_user)
    clip_id = studio.upload(media_samples["no_audio.mp4"]).json["clip"]["id"]
    with app.app_context():
        clip = db.session.get(Clip, clip_id)
        clip.status, clip.job_token, clip.heartbeat_at = "processing", "other", utcnow()
        db.session.commit()
        assert claim(clip_id) is None
        assert process_clip(clip_id) is False  # "held: look again later", not "done"
        clip = db.session.get(Clip, clip_id)
        clip.heartbeat_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        assert claim(clip_id) is not None
