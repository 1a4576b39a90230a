"""Raw frames out of ffmpeg and into it, through pipes, for the steps that touch pixels
in Python (face redaction). Argument lists are built by pure functions; the two runners
read and write whole frames on threads of their own so decode, Python and encode overlap.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import ffmpeg as ffmpeg_python
import numpy as np

from videocoach.lifetimes import die_with_parent
from videocoach.media.commands import (
    COMMON_FLAGS,
    _file,
    _video_in,
    rendition_size,
    tone_map_to_sdr,
    web_fps,
)
from videocoach.media.probe import ProbeFacts
from videocoach.media.progress import STDERR_TAIL_LINES, FfmpegFailed, FfmpegTimeout

# Frames queued between a pipe and Python: enough to ride out a slow frame, little memory.
QUEUE_FRAMES = 8


@dataclass(frozen=True)
class RawFormat:
    """What one raw frame on a pipe is: its size, pixel format and rate."""

    width: int
    height: int
    fps: int
    pix_fmt: str = "yuv420p"  # "yuv420p" (I420, what x264 takes) or "rgb24"

    @property
    def frame_bytes(self) -> int:
        if self.pix_fmt == "yuv420p":
            return self.width * self.height * 3 // 2
        if self.pix_fmt == "rgb24":
            return self.width * self.height * 3
        raise ValueError(f"unsupported raw pixel format {self.pix_fmt}")

    @property
    def shape(self) -> tuple[int, ...]:
        if self.pix_fmt == "yuv420p":
            return (self.height * 3 // 2, self.width)
        return (self.height, self.width, 3)


def web_raw_format(facts: ProbeFacts, *, max_height: int = 720) -> RawFormat:
    """Frames at the web rendition's size and rate, as x264 takes them."""
    width, height = rendition_size(facts, max_height)
    return RawFormat(width, height, web_fps(facts), "yuv420p")


def scaled_raw_format(facts: ProbeFacts, width: int, pix_fmt: str = "rgb24") -> RawFormat:
    """Frames of at most `width` pixels across (never upscaled), at the web rate."""
    full_w, full_h = rendition_size(facts, 10_000)
    width = min(width, full_w)
    height = max(2, round(full_h * width / full_w / 2) * 2)
    return RawFormat(width - width % 2, height, web_fps(facts), pix_fmt)


def trim_input_options(start_s: float, duration_s: float | None) -> dict[str, str]:
    # Input options: an accurate seek (ffmpeg decodes from the keyframe before and drops
    # frames up to start_s) and timestamps that start again at 0.
    options = {}
    if start_s > 0:
        options["ss"] = f"{start_s:.3f}"
    if duration_s is not None:
        options["t"] = f"{duration_s:.3f}"
    return options


def decode_args(
    src: Path,
    facts: ProbeFacts,
    raw: RawFormat,
    *,
    start_s: float = 0.0,
    duration_s: float | None = None,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """Decode the picture to raw frames on stdout: upright, tone-mapped when HDR, at raw's
    size and constant rate."""
    source = ffmpeg_python.input(_file(src), **trim_input_options(start_s, duration_s))
    video = _video_in(source, facts)
    if facts.is_hdr:
        video = tone_map_to_sdr(video)
    video = video.filter("fps", raw.fps)
    video = video.filter("scale", raw.width, raw.height).filter("setsar", 1)
    out = ffmpeg_python.output(
        video, "pipe:1", f="rawvideo", pix_fmt=raw.pix_fmt, fps_mode="passthrough"
    )
    return out.global_args(*COMMON_FLAGS).compile(cmd=ffmpeg)


def _popen(args: list[str], *, stdin: int | None, stdout: int | None) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - list arguments, no shell
        args,
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        stdout=subprocess.DEVNULL if stdout is None else stdout,
        stderr=subprocess.PIPE,
        preexec_fn=die_with_parent,  # a killed job takes its ffmpeg with it
    )


class _Child:
    """One ffmpeg with its stderr tail kept, its CPU time measured when it ends."""

    def __init__(self, args: list[str], *, stdin: int | None, stdout: int | None) -> None:
        self.process = _popen(args, stdin=stdin, stdout=stdout)
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.cpu_s = 0.0
        self._stderr = threading.Thread(target=self._drain, daemon=True)
        self._stderr.start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_tail.append(line.decode(errors="replace").rstrip("\n"))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()

    def wait(self) -> int:
        if self.process.returncode is None:
            try:
                # wait4, not waitpid: this child's own CPU time, for the bench's breakdown.
                _, status, usage = os.wait4(self.process.pid, 0)
            except ChildProcessError:  # reaped already by a poll() on another thread
                self.process.wait()
            else:
                self.process.returncode = os.waitstatus_to_exitcode(status)
                self.cpu_s = usage.ru_utime + usage.ru_stime
        self._stderr.join(timeout=5)
        return self.process.returncode

    def check(self) -> None:
        if self.wait() != 0:
            raise FfmpegFailed(self.process.returncode, "\n".join(self.stderr_tail))


class FrameReader:
    """Frames of one decode (decode_args), as numpy arrays of raw.shape, read ahead."""

    def __init__(self, args: list[str], raw: RawFormat) -> None:
        self.raw = raw
        self.child = _Child(args, stdin=None, stdout=subprocess.PIPE)
        self._frames: queue.Queue[np.ndarray | None] = queue.Queue(QUEUE_FRAMES)
        self.wait_s = 0.0  # time the consumer spent waiting for a frame
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        stdout = self.child.process.stdout
        assert stdout is not None
        size = self.raw.frame_bytes
        try:
            while True:
                buffer = bytearray(size)
                view = memoryview(buffer)
                got = 0
                while got < size:
                    n = stdout.readinto(view[got:])
                    if not n:
                        break
                    got += n
                if got < size:  # end of stream (a partial last frame is dropped)
                    break
                self._frames.put(np.frombuffer(buffer, np.uint8).reshape(self.raw.shape))
        finally:
            self._frames.put(None)

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            started = time.perf_counter()
            frame = self._frames.get()
            self.wait_s += time.perf_counter() - started
            if frame is None:
                return
            yield frame

    def close(self) -> None:
        """After the last frame: wait for the decoder, raise FfmpegFailed if it failed."""
        self._thread.join()
        self.child.check()

    def abort(self) -> None:
        """Stop early (an error elsewhere): kill the decoder, let the reader thread end."""
        self.child.kill()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._frames.get(timeout=0.1)
        self.child.wait()


class FrameWriter:
    """Feeds raw frames to one encoding ffmpeg's stdin from a thread of its own."""

    def __init__(self, args: list[str]) -> None:
        self.child = _Child(args, stdin=subprocess.PIPE, stdout=None)
        self._frames: queue.Queue[np.ndarray | None] = queue.Queue(QUEUE_FRAMES)
        self.wait_s = 0.0  # time the producer spent waiting for room in the queue
        self.broken = False
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def _write(self) -> None:
        stdin: IO[bytes] | None = self.child.process.stdin
        assert stdin is not None
        try:
            while (frame := self._frames.get()) is not None:
                if not self.broken:
                    stdin.write(frame.data)
        except (BrokenPipeError, OSError):
            self.broken = True  # the encoder failed: close() reports its stderr
            while self._frames.get() is not None:
                pass
        finally:
            try:
                stdin.close()
            except OSError:
                self.broken = True

    def write(self, frame: np.ndarray) -> None:
        if self.broken:  # the encoder stopped early: say why now, not after the whole decode
            self.close()
            raise FfmpegFailed(self.child.process.returncode, "\n".join(self.child.stderr_tail))
        started = time.perf_counter()
        self._frames.put(frame)
        self.wait_s += time.perf_counter() - started

    def close(self) -> None:
        """End the stream, wait for the encoder, raise FfmpegFailed if it failed."""
        if self._thread.is_alive():
            self._frames.put(None)
            self._thread.join()
        self.child.check()

    def abort(self) -> None:
        self.child.kill()
        if self._thread.is_alive():
            self._frames.put(None)
            self._thread.join(timeout=5)
        self.child.wait()


class Deadline:
    """Kills the given children once timeout_s has passed; `expired` says whether it did."""

    def __init__(self, timeout_s: float | None, *children: _Child) -> None:
        self.timeout_s = timeout_s
        self.expired = threading.Event()
        self._children = children
        self._timer = None
        if timeout_s is not None:
            self._timer = threading.Timer(timeout_s, self._stop)
            self._timer.daemon = True
            self._timer.start()

    def _stop(self) -> None:
        self.expired.set()
        for child in self._children:
            child.kill()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def check(self) -> None:
        if self.expired.is_set():
            assert self.timeout_s is not None
            tails = "\n".join(line for c in self._children for line in c.stderr_tail)
            raise FfmpegTimeout(self.timeout_s, tails)
