"""The shared version of a clip: faces and chosen areas blurred, trimmed, parts muted.

One decode, one encode: ffmpeg decodes the kept part to raw I420 frames at the web
rendition's size and rate, Python finds faces (media/faces.py) and blurs them and the
chosen areas in place, and a second ffmpeg encodes the frames with the web rendition's
x264 settings while it takes the sound straight from the source, trimmed alike and
silenced over the muted ranges by ffmpeg's volume filter.

Times in RedactionSettings are seconds of the original clip; the rendition starts at 0.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffmpeg_python
import numpy as np

from videocoach.media.commands import (
    COMMON_FLAGS,
    MP4_FOR_WEB,
    WEB_AUDIO_OPTIONS,
    _audio_in,
    _file,
    web_video_options,
)
from videocoach.media.faces import (
    DETECT_EVERY,
    FaceBox,
    FaceDetector,
    FaceSmoother,
    blur_i420,
    i420_to_rgb,
)
from videocoach.media.probe import ProbeFacts, probe
from videocoach.media.rawvideo import (
    Deadline,
    FrameReader,
    FrameWriter,
    RawFormat,
    decode_args,
    trim_input_options,
    web_raw_format,
)

# A trim shorter than this leaves nothing worth sharing.
MIN_DURATION_S = 0.5


class InvalidRedaction(ValueError):
    """Settings that cannot apply to this clip; the sentence says why, in plain words."""


@dataclass(frozen=True)
class BlurRegion:
    """An area to blur from t_start_s to t_end_s; x, y, w, h in fractions (0..1) of the
    picture as it is shown (upright)."""

    t_start_s: float
    t_end_s: float
    x: float
    y: float
    w: float
    h: float

    def box(self) -> FaceBox:
        return FaceBox(self.x, self.y, self.x + self.w, self.y + self.h)


@dataclass(frozen=True)
class RedactionSettings:
    blur_faces: bool = True
    regions: tuple[BlurRegion, ...] = ()
    trim_start_s: float = 0.0
    trim_end_s: float | None = None  # None: to the end
    mute: tuple[tuple[float, float], ...] = ()  # (start_s, end_s) ranges of silence

    def kept(self, duration_s: float) -> tuple[float, float]:
        """(start_s, end_s) of the part shared, checked against the clip's duration."""
        end = duration_s if self.trim_end_s is None else min(self.trim_end_s, duration_s)
        start = self.trim_start_s
        if start < 0 or start >= duration_s:
            raise InvalidRedaction("The start of the shared part must lie inside the clip.")
        if end - start < MIN_DURATION_S:
            raise InvalidRedaction("The shared part must last at least half a second.")
        for region in self.regions:
            if not (0 <= region.x < 1 and 0 <= region.y < 1 and region.w > 0 and region.h > 0):
                raise InvalidRedaction("A blurred area must lie inside the picture.")
            if region.x + region.w > 1 + 1e-6 or region.y + region.h > 1 + 1e-6:
                raise InvalidRedaction("A blurred area must lie inside the picture.")
            if region.t_end_s <= region.t_start_s:
                raise InvalidRedaction("A blurred area must end after it starts.")
        for a, b in self.mute:
            if b <= a:
                raise InvalidRedaction("A muted part must end after it starts.")
        return start, end


@dataclass
class RedactionReport:
    """What a render did and where its time went (seconds), for logs and the bench."""

    frames: int = 0
    frames_with_faces: int = 0
    detections: int = 0
    duration_s: float = 0.0
    wall_s: float = 0.0
    detect_s: float = 0.0  # in the detector, on this process's threads
    blur_s: float = 0.0
    waiting_for_decoder_s: float = 0.0
    waiting_for_encoder_s: float = 0.0
    decoder_cpu_s: float = 0.0  # user + system time of the ffmpeg processes
    encoder_cpu_s: float = 0.0


def _mute_expression(mute: tuple[tuple[float, float], ...], start: float, end: float) -> str:
    """between(t,a,b)+... in the rendition's time (0 at the trim's start), or '' if none."""
    ranges = []
    for a, b in sorted(mute):
        a, b = max(a, start) - start, min(b, end) - start
        if b > a:
            ranges.append(f"between(t,{a:.3f},{b:.3f})")
    return "+".join(ranges)


def encode_args(
    src: Path,
    dst: Path,
    facts: ProbeFacts,
    raw: RawFormat,
    *,
    start_s: float,
    end_s: float,
    mute: tuple[tuple[float, float], ...] = (),
    preset: str = "veryfast",
    crf: int = 23,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """Encode raw frames from stdin, with the source's sound over [start_s, end_s] muted
    over `mute` (original clip's seconds), into an MP4 made like the web rendition."""
    frames = ffmpeg_python.input(
        "pipe:0", f="rawvideo", pix_fmt=raw.pix_fmt, s=f"{raw.width}x{raw.height}", r=raw.fps
    )
    streams = [frames]
    audio_options = {}
    if facts.has_audio:
        source = ffmpeg_python.input(_file(src), **trim_input_options(start_s, end_s - start_s))
        audio = _audio_in(source, facts)
        if expression := _mute_expression(mute, start_s, end_s):
            audio = audio.filter("volume", volume=0, enable=expression)
        streams.append(audio)
        audio_options = WEB_AUDIO_OPTIONS
    out = ffmpeg_python.output(
        *streams,
        _file(dst),
        f="mp4",
        **web_video_options(facts, preset=preset, crf=crf),
        **audio_options,
        **MP4_FOR_WEB,
    )
    return out.global_args(*COMMON_FLAGS).compile(cmd=ffmpeg)


def _regions_at(regions: tuple[BlurRegion, ...], t: float) -> list[FaceBox]:
    return [r.box() for r in regions if r.t_start_s <= t < r.t_end_s]


def render_redacted(
    source: Path,
    dest: Path,
    settings: RedactionSettings,
    *,
    facts: ProbeFacts | None = None,
    detector: FaceDetector | None = None,
    every: int = DETECT_EVERY,
    timeout_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    ffmpeg: str = "ffmpeg",
    ffprobe: str = "ffprobe",
) -> RedactionReport:
    """Write the redacted rendition of `source` to `dest` (MP4, H.264 + AAC).

    Raises InvalidRedaction for settings that do not fit the clip, FfmpegFailed or
    FfmpegTimeout when ffmpeg does.
    """
    started = time.perf_counter()
    facts = facts or probe(source, ffprobe)
    start, end = settings.kept(facts.duration_s or 0.0)
    raw = web_raw_format(facts)
    if settings.blur_faces and detector is None:
        detector = FaceDetector()
    elif not settings.blur_faces:
        detector = None
    detect_before = (detector.seconds, detector.calls) if detector else (0.0, 0)
    reader = FrameReader(
        decode_args(source, facts, raw, start_s=start, duration_s=end - start, ffmpeg=ffmpeg), raw
    )
    writer = FrameWriter(
        encode_args(
            source, dest, facts, raw, start_s=start, end_s=end, mute=settings.mute, ffmpeg=ffmpeg
        )
    )
    deadline = Deadline(timeout_s, reader.child, writer.child)
    report = RedactionReport(duration_s=end - start)
    smoother = FaceSmoother()
    waiting: deque[np.ndarray] = deque()  # frames whose face boxes are not settled yet
    expected = round((end - start) * raw.fps)

    def emit(settled: list[tuple[int, list[FaceBox]]]) -> None:
        for index, faces in settled:
            frame = waiting.popleft()
            rects = _regions_at(settings.regions, start + index / raw.fps)
            if faces or rects:
                blur_started = time.perf_counter()
                blur_i420(frame, raw.width, raw.height, faces=faces, rects=rects)
                report.blur_s += time.perf_counter() - blur_started
            report.frames_with_faces += bool(faces)
            writer.write(frame)
            report.frames += 1
            if on_progress is not None and expected:
                on_progress(min(1.0, report.frames / expected))

    try:
        count = 0
        for n, decoded in enumerate(reader):
            frame = decoded.copy() if not decoded.flags.writeable else decoded
            count = n + 1
            waiting.append(frame)
            if detector is None:
                emit([(n, [])])
            elif n % every == 0:
                emit(smoother.sample(n, detector.detect(i420_to_rgb(frame, detector.input_width))))
        if detector is not None:
            emit(smoother.finish(count))
        reader.close()
        writer.close()
    except BaseException:
        reader.abort()
        writer.abort()
        deadline.check()
        raise
    finally:
        deadline.cancel()
    deadline.check()
    if detector is not None:
        report.detect_s = detector.seconds - detect_before[0]
        report.detections = detector.calls - detect_before[1]
    report.waiting_for_decoder_s = reader.wait_s
    report.waiting_for_encoder_s = writer.wait_s
    report.decoder_cpu_s = reader.child.cpu_s
    report.encoder_cpu_s = writer.child.cpu_s
    report.wall_s = time.perf_counter() - started
    return report
