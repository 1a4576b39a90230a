"""Fair turns for transcodes, so one person's long clips cannot starve everyone else's.

A clip takes its turn just before its transcode: its probe and fast-path remux run at once
(every clip becomes playable within seconds), the transcode is what costs minutes or hours.
Two rules:

1. A long clip (VIDEOCOACH_LONG_CLIP_MINUTES) needs a long slot. A worker has its
   concurrency less VIDEOCOACH_SHORT_CLIP_SLOTS of them (at least one; none on a worker
   started with --short-clips-only), so its other slots stay free for short clips: an 8 s
   clip never waits behind two long transcodes. Slots are file locks under
   <data dir>/locks/<host>-<worker pid>/, which the kernel releases when a process dies,
   so a killed job can never keep one.
2. While a clip of someone else waits, one person's clips run at most
   VIDEOCOACH_JOBS_PER_UPLOADER transcodes at once (clips.dispatch.behind_others).

A clip that must wait is handed back without using an attempt (pipeline.hand_back) and
looked at again a few seconds later (tasks.process_clip).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from videocoach.clips import dispatch
from videocoach.clips.models import Clip
from videocoach.config import current_settings

log = logging.getLogger(__name__)

# Where run_worker records what the worker it starts is (its children inherit it).
WORKER_SLOTS = "videocoach.worker_slots"


@dataclass(frozen=True)
class WorkerSlots:
    """The worker this process belongs to: its pid, how many jobs it runs at once, and
    whether it takes long clips."""

    pid: int
    concurrency: int
    takes_long_clips: bool = True


class NotYourTurn(Exception):
    """The clip's transcode has to wait; `queue` is where to look at it again."""

    def __init__(self, reason: str, queue: str | None) -> None:
        super().__init__(reason)
        self.queue = queue


def worker_slots() -> WorkerSlots:
    slots = current_app.extensions.get(WORKER_SLOTS)
    if slots is None:  # no `videocoach worker` (eager tasks): this process is the worker
        slots = WorkerSlots(os.getpid(), current_settings().worker_concurrency)
    return slots  # type: ignore[no-any-return]


def long_slot_count(slots: WorkerSlots) -> int:
    if not slots.takes_long_clips:
        return 0
    return max(1, slots.concurrency - current_settings().short_clip_slots)


def locks_root() -> Path:
    return current_settings().data_dir / "locks"


def lock_dir(slots: WorkerSlots) -> Path:
    return locks_root() / f"{socket.gethostname()}-{slots.pid}"


@contextlib.contextmanager
def long_slot() -> Iterator[bool]:
    """Hold one of this worker's long slots for the block (True), or none is free (False)."""
    slots = worker_slots()
    folder = lock_dir(slots)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(long_slot_count(slots)):
        handle = (folder / f"long-{index}.lock").open("a+b")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        with handle:  # closing it releases the lock
            yield True
        return
    yield False


@contextlib.contextmanager
def transcode_turn(clip: Clip) -> Iterator[None]:
    """Hold the clip's turn to transcode for the block, or raise NotYourTurn."""
    queue = dispatch.queue_for(clip)
    if dispatch.behind_others(clip):
        raise NotYourTurn("its uploader's other clips run while someone else's wait", queue)
    if not dispatch.is_long(clip):
        yield
        return
    with long_slot() as taken:
        if not taken:
            raise NotYourTurn("every long slot of this worker is busy", queue)
        yield


def forget_stale_lock_dirs() -> None:
    """At a worker's start: remove lock folders of this machine's workers that are gone."""
    root = locks_root()
    if not root.is_dir():
        return
    host = socket.gethostname()
    for folder in root.iterdir():
        name, _, pid = folder.name.rpartition("-")
        if name != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's
