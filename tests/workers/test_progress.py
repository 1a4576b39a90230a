"""Processing progress moves step by step while a real `videocoach worker` transcodes:
issue 13 saw 0, then 5 %, then Ready, because ffmpeg's own report waits for the first
storyboard sheet, which a short clip fills only at its end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.media import make_lesson_clip_with, make_silent_clip_with
from tests.media.samples import FFMPEG
from tests.studio import make_studio
from tests.workers.test_celery_worker import worker_config, worker_process  # noqa: F401
from videocoach import create_app
from videocoach.clips.steps import STEPS

CLIP_SECONDS = 20


def follow(studio, clip_id: str, worker, timeout: float = 240) -> list[dict]:
    """Every distinct (step, progress) the clip API shows while the worker processes."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        clip = studio.clip(clip_id)
        if not seen or (clip["step"], clip["progress"]) != (seen[-1]["step"], seen[-1]["progress"]):
            seen.append(clip)
        if clip["status"] in ("ready", "failed"):
            return seen
        if worker.poll() is not None:
            raise AssertionError(f"worker exited:\n{worker.stdout.read()}")
        time.sleep(0.1)
    raise AssertionError(f"not done in {timeout} s: {[(c['step'], c['progress']) for c in seen]}")


@pytest.mark.parametrize("sound", [True, False], ids=["with-sound", "silent"])
def test_progress_moves_through_the_transcode_in_order(
    worker_config,  # noqa: F811
    make_user,
    tmp_path: Path,
    sound: bool,
) -> None:
    make = make_lesson_clip_with if sound else make_silent_clip_with
    source = make(FFMPEG, tmp_path / "lesson.mp4", CLIP_SECONDS, "640x360")
    studio = make_studio(create_app(worker_config), make_user)
    clip_id = studio.upload(source).json["clip"]["id"]
    with worker_process(worker_config) as worker:
        seen = follow(studio, clip_id, worker)
    assert seen[-1]["status"] == "ready", seen[-1]["error"]
    values = [clip["progress"] for clip in seen]
    # Each reading is new (step or progress changed); progress itself only ever goes up.
    moved = [
        value for index, value in enumerate(values) if index == 0 or value != values[index - 1]
    ]
    assert moved == sorted(set(moved)), values
    between = [value for value in moved if 0 < value < 1]
    assert len(between) >= 4, values
    transcoding = [c["step_progress"] for c in seen if c["step"] == "transcode"]
    # The transcode takes seconds: readings inside it, not just its start and its end.
    inside = [value for value in transcoding if 0 < value < 1]
    assert len(inside) >= 2, [(c["step"], c["progress"]) for c in seen]
    assert inside == sorted(set(inside))
    states = {c["step"]: {s["name"]: s["state"] for s in c["steps"]} for c in seen}
    assert states["transcode"]["probe"] == "done"
    assert states["transcode"]["transcode"] == "active"
    assert states["transcode"]["images"] == "pending"
    assert [s["state"] for s in seen[-1]["steps"]] == ["done"] * len(STEPS)
    assert seen[-1]["step_progress"] is None and seen[-1]["progress"] == 1.0
