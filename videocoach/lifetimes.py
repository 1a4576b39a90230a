"""Child processes that do not outlive their parent.

A killed worker must not leave an orphaned ffmpeg writing a lesson's frames, nor pool
processes holding its jobs: on Linux the kernel signals a child when its parent dies
(prctl PR_SET_PDEATHSIG). Elsewhere this is a no-op, and claims and scratch clean-up
still keep a second job from using what an orphan left.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys

PR_SET_PDEATHSIG = 1
# Loaded once, here: the forked child (preexec_fn) must not load libraries or take locks.
_prctl = (
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    if sys.platform.startswith("linux")
    else None
)


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent exits."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def die_with_parent_on_term() -> None:
    """For subprocess preexec_fn: stop gracefully (SIGTERM) when the parent exits."""
    die_with_parent(signal.SIGTERM)
