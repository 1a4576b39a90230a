"""Run ffmpeg with a time limit and turn its `-progress pipe:1` output into fractions."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from videocoach.lifetimes import die_with_parent

STDERR_TAIL_LINES = 40
# How often a measured position (run_ffmpeg's `position_s`) is read.
MEASURE_EVERY_S = 0.5


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


def growing_file_position(path: Path, bytes_per_second: float) -> Callable[[], float | None]:
    """The position reached, in seconds of the clip, read from the size of an output that
    ffmpeg writes at a steady `bytes_per_second` of the clip; None before it exists."""

    def position_s() -> float | None:
        try:
            return path.stat().st_size / bytes_per_second
        except FileNotFoundError:
            return None

    return position_s


def _progress_lines(
    stdout: IO[str], position_s: Callable[[], float | None] | None
) -> Iterator[str]:
    """ffmpeg's -progress lines; with `position_s`, its out_time lines are replaced by the
    measured position, read every MEASURE_EVERY_S even while ffmpeg says nothing."""
    if position_s is None:
        yield from stdout
        return
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    measured_at = 0.0
    while True:
        try:
            line = lines.get(timeout=MEASURE_EVERY_S)
        except queue.Empty:
            line = ""
        if line is None:
            return
        if line and not line.startswith(("out_time_us=", "out_time_ms=")):
            yield line
        if time.monotonic() - measured_at >= MEASURE_EVERY_S:
            measured_at = time.monotonic()
            position = position_s()
            if position is not None:
                yield f"out_time_us={round(position * 1_000_000)}\n"


def run_ffmpeg(
    args: list[str],
    *,
    timeout_s: float,
    on_progress: Callable[[float], None] | None = None,
    duration_s: float | None = None,
    niceness: int = 0,
    position_s: Callable[[], float | None] | None = None,
) -> None:
    """Run one ffmpeg (args[0] is the binary); progress callbacks run in this thread.
    A positive `niceness` lets other work on the machine have the CPU first. `position_s`,
    when given, measures the position reached (see growing_file_position) in place of
    ffmpeg's own report."""

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
        for fraction in parse_progress(_progress_lines(process.stdout, position_s), duration_s):
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
