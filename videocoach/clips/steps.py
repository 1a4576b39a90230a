"""The processing steps a person sees, each with its share of the progress bar.

workers/pipeline.py reports a step's own fraction (0..1) and `overall` turns it into the
clip's `progress`; `step_list` and `step_progress` read the clip back into the steps, for
the clip JSON and the clip page. Shares follow where the time goes: the transcode is most
of it. Nothing here needs a column of its own: `step` and `progress` say it all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from videocoach.clips import dispatch
from videocoach.clips.models import Clip, ClipStatus

StepState = Literal["pending", "active", "waiting", "done", "skipped", "failed"]


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    start: float  # where the step begins on the whole progress bar, 0..1
    end: float


STEPS = (
    Step("probe", "Reading the file", 0.0, 0.02),
    Step("playable", "Making it playable", 0.02, 0.06),
    Step("checksum", "Checking the file", 0.06, 0.08),
    Step("transcode", "Converting for the web", 0.08, 0.92),
    Step("images", "Making previews and the waveform", 0.92, 0.97),
    Step("finishing", "Finishing", 0.97, 1.0),
)
BY_NAME = {step.name: step for step in STEPS}
# A clip waiting for its turn (dispatch.WAITING_TURN) waits to be transcoded.
WAITS_FOR = "transcode"


def overall(name: str, fraction: float) -> float:
    """The clip's progress (0..1) when step `name` is `fraction` done."""
    step = BY_NAME[name]
    return step.start + (step.end - step.start) * min(max(fraction, 0.0), 1.0)


def _current(clip: Clip) -> Step | None:
    """The step under way (processing), or the one it stopped in (failed)."""
    if clip.status == ClipStatus.PROCESSING.value:
        name = WAITS_FOR if clip.step == dispatch.WAITING_TURN else clip.step
        return BY_NAME.get(name or "", STEPS[0])
    if clip.status == ClipStatus.FAILED.value:
        # A failure clears the step but leaves the progress where it stopped.
        return next((s for s in STEPS if s.start <= clip.progress < s.end), STEPS[-1])
    return None


def step_progress(clip: Clip) -> float | None:
    """How far the step under way is, 0..1; None when no step is (queued, ready, failed)."""
    if clip.status != ClipStatus.PROCESSING.value:
        return None
    step = _current(clip)
    assert step is not None
    if clip.step == dispatch.WAITING_TURN:
        return 0.0
    return round(min(max((clip.progress - step.start) / (step.end - step.start), 0.0), 1.0), 4)


def _fast_path_skipped(clip: Clip) -> bool:
    # The fast path alone sets playable_at before the end; ready sets it to ready_at.
    if clip.status == ClipStatus.READY.value:
        return clip.playable_at is None or clip.playable_at == clip.ready_at
    return clip.playable_at is None


def step_list(clip: Clip) -> list[dict[str, str]]:
    """Every step, in order, with its state: pending, active (waiting while the clip waits
    for its turn), done, skipped (the fast path, when the file cannot be copied as it is)
    or failed."""
    current = _current(clip)
    position = STEPS.index(current) if current is not None else None
    listed = []
    for index, step in enumerate(STEPS):
        state: StepState
        if clip.status == ClipStatus.READY.value or (position is not None and index < position):
            state = "done"
        elif position is None or index > position:
            state = "pending"
        elif clip.status == ClipStatus.FAILED.value:
            state = "failed"
        elif clip.step == dispatch.WAITING_TURN:
            state = "waiting"
        else:
            state = "active"
        if step.name == "playable" and state == "done" and _fast_path_skipped(clip):
            state = "skipped"
        listed.append({"name": step.name, "label": step.label, "state": state})
    return listed
