"""The step list and step progress read back from a clip's status, step and progress."""

from __future__ import annotations

from datetime import UTC, datetime

from videocoach.clips import steps
from videocoach.clips.models import Clip

AT = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)


def states(clip: Clip) -> dict[str, str]:
    return {step["name"]: step["state"] for step in steps.step_list(clip)}


def test_the_shares_fill_the_bar_in_order() -> None:
    assert steps.STEPS[0].start == 0.0 and steps.STEPS[-1].end == 1.0
    for before, after in zip(steps.STEPS, steps.STEPS[1:], strict=False):
        assert before.end == after.start and before.start < before.end
    assert steps.overall("transcode", 0.5) == 0.5
    assert steps.overall("probe", 2.0) == 0.02  # a fraction past 1 stays inside its step


def test_a_queued_clip_has_every_step_ahead() -> None:
    clip = Clip(status="queued", step=None, progress=0.0)
    assert set(states(clip).values()) == {"pending"}
    assert steps.step_progress(clip) is None


def test_a_transcoding_clip_shows_what_is_done_and_how_far_the_transcode_is() -> None:
    clip = Clip(status="processing", step="transcode", progress=0.5, playable_at=AT)
    assert states(clip) == {
        "probe": "done",
        "playable": "done",
        "checksum": "done",
        "transcode": "active",
        "images": "pending",
        "finishing": "pending",
    }
    assert steps.step_progress(clip) == 0.5
    assert steps.step_list(clip)[3]["label"] == "Converting for the web"


def test_the_fast_path_is_skipped_for_a_file_that_must_be_converted() -> None:
    clip = Clip(status="processing", step="checksum", progress=0.06, playable_at=None)
    assert states(clip)["playable"] == "skipped"
    assert states(clip)["checksum"] == "active"
    assert steps.step_progress(clip) == 0.0
    ready = Clip(status="ready", step=None, progress=1.0, playable_at=AT, ready_at=AT)
    assert states(ready)["playable"] == "skipped"
    assert states(
        Clip(status="ready", progress=1.0, playable_at=AT, ready_at=None)
    ) == dict.fromkeys((step.name for step in steps.STEPS), "done")


def test_a_clip_waiting_for_its_turn_waits_at_the_transcode() -> None:
    clip = Clip(status="processing", step="waiting", progress=0.08, playable_at=AT)
    assert states(clip)["checksum"] == "done"
    assert states(clip)["transcode"] == "waiting"
    assert steps.step_progress(clip) == 0.0


def test_a_failed_clip_shows_the_step_it_stopped_in() -> None:
    assert states(Clip(status="failed", step=None, progress=0.0))["probe"] == "failed"
    stopped = states(Clip(status="failed", step=None, progress=0.3, playable_at=AT))
    assert (stopped["checksum"], stopped["transcode"], stopped["images"]) == (
        "done",
        "failed",
        "pending",
    )
    assert steps.step_progress(Clip(status="failed", progress=0.3)) is None
