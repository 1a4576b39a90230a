"""Fair turns (workers/turns.py): one person's long clips cannot starve another person's
short clip, on the embedded worker and on Redis with several workers; a clip that waits
for its turn uses no attempt, is never reported as stuck while what it waits for runs, and
is never lost."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from tests.conftest import app_config
from tests.helpers.media import make_lesson_clip_with, make_long_cheap_clip
from tests.helpers.processes import running
from tests.studio import Studio, make_studio
from tests.workers.test_celery_worker import REDIS_URL, wait_for_status
from videocoach import create_app, db
from videocoach.clips import dispatch
from videocoach.clips.models import Clip
from videocoach.db import utcnow
from workers import pipeline, turns

# Clips from 30 s on are long here, so a long clip is cheap to make.
LONG_FROM = {"VIDEOCOACH_LONG_CLIP_MINUTES": "0.5"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A long clip (60 s, cheap to make, some seconds to transcode) and an 8 s lesson."""
    folder = tmp_path_factory.mktemp("turns")
    return {
        "long": make_long_cheap_clip("ffmpeg", folder / "long.mp4", 60),
        "short": make_lesson_clip_with("ffmpeg", folder / "short.mp4", 8),
    }


def mark_held(clip_id: str, *, heartbeat_age_s: float = 0) -> None:
    clip = db.session.get(Clip, clip_id)
    clip.status, clip.job_token = "processing", secrets.token_hex(8)
    clip.heartbeat_at = utcnow() - timedelta(seconds=heartbeat_age_s)
    db.session.commit()


def refreshed(clip_id: str) -> Clip:
    db.session.expire_all()
    return db.session.get(Clip, clip_id)


# --- the rules, in one process -----------------------------------------------------------


def test_a_persons_second_clip_waits_while_someone_elses_clip_waits(make_app, make_user, clips):
    studio = make_studio(make_app(**LONG_FROM), make_user)
    first, second = (studio.upload(clips["long"]).json["clip"]["id"] for _ in range(2))
    with studio.app.app_context():
        mark_held(first)  # the teacher's first clip is being transcoded
        assert not dispatch.behind_others(refreshed(second))  # nobody else waits: go ahead
        theirs = studio.upload(clips["short"], who="coach").json["clip"]["id"]
        assert dispatch.behind_others(refreshed(second))  # the coach's clip goes first
        assert not dispatch.behind_others(refreshed(theirs))
        mark_held(first, heartbeat_age_s=600)  # its job died: it runs nothing any more
        assert not dispatch.behind_others(refreshed(second))


def test_more_jobs_per_person_or_no_cap(make_app, make_user, clips):
    for setting, waits in (("2", False), ("0", False), ("1", True)):
        app = make_app(VIDEOCOACH_JOBS_PER_UPLOADER=setting)
        studio = make_studio(app, make_user)
        first, second = (studio.upload(clips["short"]).json["clip"]["id"] for _ in range(2))
        studio.upload(clips["short"], who="coach")
        with app.app_context():
            mark_held(first)
            assert dispatch.behind_others(refreshed(second)) is waits, setting


def test_long_slots_leave_the_others_for_short_clips(make_app):
    app = make_app()
    with app.app_context():
        for concurrency, takes_long, free in (
            (3, True, 2),
            (2, True, 1),
            (1, True, 1),
            (4, False, 0),
        ):
            app.extensions[turns.WORKER_SLOTS] = turns.WorkerSlots(
                os.getpid() + concurrency, concurrency, takes_long
            )
            assert turns.long_slot_count(turns.worker_slots()) == free
            taken = []
            with turns.long_slot() as a, turns.long_slot() as b, turns.long_slot() as c:
                taken = [a, b, c]
            assert taken.count(True) == free
            with turns.long_slot() as again:  # every slot was given back
                assert again is (free > 0)


def test_a_killed_job_never_keeps_its_long_slot(make_app):
    app = make_app()
    with app.app_context():
        app.extensions[turns.WORKER_SLOTS] = turns.WorkerSlots(os.getpid(), 2)
        lock = turns.lock_dir(turns.worker_slots()) / "long-0.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import fcntl, sys, time\n"
                f"f = open({str(lock)!r}, 'a+b'); fcntl.flock(f, fcntl.LOCK_EX)\n"
                "print('held', flush=True); time.sleep(60)",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout.readline().strip() == "held"
            with turns.long_slot() as taken:
                assert taken is False
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait()
        with turns.long_slot() as taken:
            assert taken is True


def test_a_long_clip_waits_for_a_long_slot_playable_and_without_using_an_attempt(
    make_app, make_user, clips
):
    app = make_app(**LONG_FROM)
    studio = make_studio(app, make_user)
    clip_id = studio.upload(clips["long"]).json["clip"]["id"]
    with app.app_context():
        with turns.long_slot() as taken:  # another job of this worker transcodes a long clip
            assert taken
            with pytest.raises(pipeline.WaitingTurn) as waiting:
                pipeline.process_clip(clip_id)
            assert waiting.value.queue == "videocoach.long"
            clip = refreshed(clip_id)
            assert (clip.status, clip.step, clip.job_token, clip.attempts) == (
                "processing",
                dispatch.WAITING_TURN,
                None,
                0,
            )
            assert clip.playable_at is not None  # the fast path ran: it plays while it waits
            assert dispatch.reconcile() == []  # the job that looks again has it in hand
            # Looked at again while the slot is still busy: it waits again, without
            # downloading or probing the original again.
            with pytest.raises(pipeline.WaitingTurn):
                pipeline.process_clip(clip_id)
            assert refreshed(clip_id).attempts == 0
        assert pipeline.process_clip(clip_id) is True
        clip = refreshed(clip_id)
        assert (clip.status, clip.attempts, clip.step) == ("ready", 1, None)


def test_waiting_for_a_turn_is_explained_not_reported_and_never_lost(make_app, make_user, clips):
    app = make_app(**LONG_FROM, VIDEOCOACH_JOB_STALE_SECONDS="30")
    studio = make_studio(app, make_user)
    first, second = (studio.upload(clips["long"]).json["clip"]["id"] for _ in range(2))
    with app.app_context():
        mark_held(first)
        clip = db.session.get(Clip, second)
        clip.status, clip.step, clip.duration_ms = "processing", dispatch.WAITING_TURN, 60_000
        db.session.get(Clip, first).duration_ms = 60_000
        clip.queued_at = utcnow() - timedelta(hours=1)  # past the delay limit
        clip.heartbeat_at = clip.dispatched_at = utcnow()
        db.session.commit()
        assert dispatch.processing_delay(refreshed(second)) == dispatch.TURN
        assert dispatch.reconcile() == []
        assert refreshed(second).delay_reported_at is None  # nobody is told of a fault
        # The job holding the first clip died, and the look-again job was lost with it:
        mark_held(first, heartbeat_age_s=600)
        clip = refreshed(second)
        clip.heartbeat_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        assert second in dispatch.reconcile()  # handed over again
        assert refreshed(second).delay_reported_at is not None  # and the admins are told
        assert dispatch.processing_delay(refreshed(second)) == dispatch.DELAYED


# --- real workers ----------------------------------------------------------------------------


def worker(config: dict[str, str], *flags: str) -> AbstractContextManager[subprocess.Popen]:
    return running(
        [sys.executable, "-m", "videocoach.cli", "worker", *flags],
        env={**os.environ, **config},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def uploads_in_order(studio: Studio, clips: dict[str, Path]) -> tuple[str, str, str]:
    """The teacher's two long clips, then the coach's 8 s one."""
    first = studio.upload(clips["long"]).json["clip"]["id"]
    second = studio.upload(clips["long"]).json["clip"]["id"]
    short = studio.upload(clips["short"], who="coach", visibility="shared").json["clip"]["id"]
    return first, second, short


def assert_short_clip_went_first(studio: Studio, ids: tuple[str, str, str], processes) -> None:
    first, second, short = ids
    done = {cid: wait_for_status(studio, cid, processes[0], timeout=240) for cid in ids}
    assert all(clip["status"] == "ready" for clip in done.values()), done  # nothing lost
    # The 8 s clip did not wait for either long transcode to finish.
    assert done[short]["ready_at"] < min(done[first]["ready_at"], done[second]["ready_at"])
    with studio.app.app_context():
        for cid in ids:
            clip = db.session.get(Clip, cid)
            assert clip.attempts == 1 and clip.delay_reported_at is None


def test_embedded_worker_finishes_an_8s_clip_while_one_person_has_two_long_ones(
    database_url, tmp_path, app, make_user, clips
):
    config = {**app_config(database_url, tmp_path / "data"), **LONG_FROM}
    studio = make_studio(create_app(config), make_user)
    with worker(config, "--concurrency", "2") as process:
        ids = uploads_in_order(studio, clips)
        assert_short_clip_went_first(studio, ids, [process])


def test_redis_workers_one_for_short_clips_only(database_url, tmp_path, app, make_user, clips):
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as error:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {error}")
    queue = f"videocoach-test-{secrets.token_hex(4)}"
    config = {
        **app_config(database_url, tmp_path / "data"),
        **LONG_FROM,
        "CELERY_BROKER_URL": REDIS_URL,
        "VIDEOCOACH_CELERY_QUEUE": queue,
    }
    studio = make_studio(create_app(config), make_user)
    try:
        with (
            worker(config, "--concurrency", "1", "--short-clips-only") as short_only,
            worker(config, "--concurrency", "1") as any_clip,
        ):
            ids = uploads_in_order(studio, clips)
            assert_short_clip_went_first(studio, ids, [short_only, any_clip])
    finally:
        redis.Redis.from_url(REDIS_URL).delete(queue, f"{queue}.long")


def test_a_long_clips_transcode_lets_short_ones_have_the_cpu_first(
    make_app, make_user, clips, tmp_path
):
    said = tmp_path / "ffmpeg-runs.txt"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho "$(nice) $*" >> {said}\nexec ffmpeg "$@"\n')
    wrapper.chmod(0o755)
    app = make_app(**LONG_FROM, VIDEOCOACH_TASKS_EAGER="1", FFMPEG_BINARY=str(wrapper))
    studio = make_studio(app, make_user)
    for name in ("long", "short"):
        assert studio.clip(studio.upload(clips[name]).json["clip"]["id"])["status"] == "ready"
    transcodes = [line for line in said.read_text().splitlines() if "web.mp4" in line]
    assert [line.split()[0] for line in transcodes] == [
        str(os.nice(0) + pipeline.LONG_TRANSCODE_NICENESS),
        str(os.nice(0)),
    ]
