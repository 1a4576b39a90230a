"""Run ffmpeg with a time limit and turn its `-progress pipe:1` output into fractions."""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from videocoach.lifetimes import die_with_parent

STDERR_TAIL_LINES = 40


class FfmpegFailed(Exception):
    def __init__(self, returncode: int, stderr_tail: str) -> None:
        super().__init__(f"ffmpeg exited with {returncode}: {stderr_tail[-500:]}")
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class FfmpegTimeout(Exception):
    def __init__(self, timeout_s: float, stderr_tail: str = "") -> None:
        super().__init__(f"ffmpeg took longer than {timeout_s:g} s and was stopped")
        self.timeout_s = timeout_s
        self.stderr_tail = stderr_tail


def parse_progress(lines: Iterable[str], duration_s: float | None) -> Iterator[float]:
    """Fractions 0..1, one per new position; 1.0 at `progress=end`.

    ffmpeg writes out_time_us and out_time_ms in each block, and despite its name
    out_time_ms is also in microseconds; take whichever comes, skip repeats.
    """
    last: float | None = None
    for line in lines:
        key, _, value = line.strip().partition("=")
        if key in ("out_time_us", "out_time_ms"):
            if not duration_s or duration_s <= 0:
                continue
            try:
                micros = int(value)
            except ValueError:  # "N/A" before the first frame
                continue
            fraction = min(1.0, max(0.0, micros / 1_000_000 / duration_s))
        elif key == "progress" and value == "end":
            fraction = 1.0
        else:
            continue
        if fraction != last:
            last = fraction
            yield fraction


def run_ffmpeg(
    args: list[str],
    *,
    timeout_s: float,
    on_progress: Callable[[float], None] | None = None,
    duration_s: float | None = None,
    niceness: int = 0,
) -> None:
    """Run one ffmpeg (args[0] is the binary); progress callbacks run in this thread.
    A positive `niceness` lets other work on the machine have the CPU first."""

    def in_the_child() -> None:
        die_with_parent()  # a killed job takes its ffmpeg with it
        if niceness:
            os.nice(niceness)

    process = subprocess.Popen(  # noqa: S603 - list arguments, no shell
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        preexec_fn=in_the_child,
    )
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    def drain_stderr() -> None:
        # Read stderr on the side: a full pipe would block ffmpeg.
        assert process.stderr is not None
        for line in process.stderr:
            stderr_tail.append(line.rstrip("\n"))

    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        process.kill()

    reader = threading.Thread(target=drain_stderr, daemon=True)
    reader.start()
    # Killing the process closes stdout, which ends the loop below.
    timer = threading.Timer(timeout_s, stop)
    timer.daemon = True
    timer.start()
    try:
        assert process.stdout is not None
        for fraction in parse_progress(process.stdout, duration_s):
            if on_progress is not None:
                on_progress(fraction)
        returncode = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:  # an exception from on_progress: do not leave it running
            process.kill()
            process.wait()
        reader.join(timeout=5)
    if timed_out.is_set():
        raise FfmpegTimeout(timeout_s, "\n".join(stderr_tail))
    if returncode != 0:
        raise FfmpegFailed(returncode, "\n".join(stderr_tail))
