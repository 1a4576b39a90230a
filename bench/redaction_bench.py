"""The redacted rendition (faces found and blurred, re-encoded) against a plain transcode of
the same 1080p clip to the web rendition, interleaved, and where the redaction's time goes.

    python bench/redaction_bench.py [--seconds 20] [--runs 3] [--every 3] [--width 640]

The clip: ffmpeg's testsrc2 at 1920x1080, 30 fps, with scikit-image's astronaut moving over
it (her face ~120 px high) and a tone. Each run times, in this order:
  A. plain: one ffmpeg, 720p libx264 veryfast CRF 23 + AAC, the web rendition's settings
  B. redacted: render_redacted (decode to raw frames, CenterFace every `every` frames on a
     `width` px frame, tracking, blur, encode with the same settings)
Cost is CPU time (user + system, of this process and its ffmpeg children): this machine is
shared, so wall time mostly measures the neighbours; both are printed. Ratios are medians.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import ffmpeg as ffmpeg_python
from skimage import data

from bench.common import median
from videocoach.media.commands import (
    COMMON_FLAGS,
    MP4_FOR_WEB,
    WEB_AUDIO_OPTIONS,
    _file,
    rendition_size,
    web_fps,
    web_video_options,
)
from videocoach.media.faces import FaceDetector
from videocoach.media.probe import ProbeFacts, probe
from videocoach.media.redaction import RedactionReport, RedactionSettings, render_redacted


def make_clip(path: Path, seconds: int) -> None:
    astronaut = path.with_name("astronaut.png")
    cv2.imwrite(str(astronaut), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    overlay = "[0:v][1:v]overlay=x='600+500*sin(t/2)':y='300+150*cos(t/3)'"
    args = [
        *("ffmpeg", "-v", "error", "-y"),
        *("-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}"),
        *("-loop", "1", "-framerate", "30", "-i", str(astronaut)),
        *("-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}"),
        *("-filter_complex", overlay),
        *("-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-b:a", "128k", "-t", str(seconds), str(path)),
    ]
    subprocess.run(args, check=True)


def plain_transcode_args(src: Path, dst: Path, facts: ProbeFacts) -> list[str]:
    """The web rendition alone, with the settings the pipeline uses (commands.py)."""
    width, height = rendition_size(facts)
    source = ffmpeg_python.input(_file(src))
    video = (
        source["v:0"]
        .filter("fps", web_fps(facts))
        .filter("scale", width, height)
        .filter("setsar", 1)
        .filter("format", "yuv420p")
    )
    out = ffmpeg_python.output(
        video,
        source["a:0"],
        _file(dst),
        f="mp4",
        **web_video_options(facts),
        **WEB_AUDIO_OPTIONS,
        **MP4_FOR_WEB,
    )
    return out.global_args(*COMMON_FLAGS).compile()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_plain(src: Path, dst: Path, facts: ProbeFacts) -> tuple[float, float]:
    cpu, wall = children_cpu(), time.perf_counter()
    subprocess.run(plain_transcode_args(src, dst, facts), check=True)
    return time.perf_counter() - wall, children_cpu() - cpu


def time_redacted(
    src: Path, dst: Path, facts: ProbeFacts, detector: FaceDetector, every: int
) -> tuple[float, float, float, RedactionReport]:
    children, own, wall = children_cpu(), own_cpu(), time.perf_counter()
    report = render_redacted(
        src, dst, RedactionSettings(), facts=facts, detector=detector, every=every
    )
    python_cpu = own_cpu() - own
    return time.perf_counter() - wall, children_cpu() - children + python_cpu, python_cpu, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--every", type=int, default=3, help="detect on one frame in N")
    parser.add_argument("--width", type=int, default=640, help="detector input width")
    parser.add_argument("--dnn-threads", type=int, default=None, help="cv2.setNumThreads")
    args = parser.parse_args()
    if args.dnn_threads is not None:
        cv2.setNumThreads(args.dnn_threads)
    with tempfile.TemporaryDirectory(prefix="vc-redaction-bench-") as tmp:
        work = Path(tmp)
        src = work / "clip1080.mp4"
        make_clip(src, args.seconds)
        facts = probe(src)
        detector = FaceDetector(input_width=args.width)
        rows = []
        for run in range(1, args.runs + 1):
            plain_wall, plain_cpu = time_plain(src, work / "plain.mp4", facts)
            wall, cpu, python_cpu, report = time_redacted(
                src, work / "redacted.mp4", facts, detector, args.every
            )
            rows.append((plain_wall, plain_cpu, wall, cpu, report))
            print(
                f"run {run}: plain {plain_wall:.1f} s wall / {plain_cpu:.1f} s CPU; "
                f"redacted {wall:.1f} s wall / {cpu:.1f} s CPU "
                f"(cost {cpu / plain_cpu:.2f}x, wall {wall / plain_wall:.2f}x)"
            )
            print(
                f"  where the CPU went: decoder ffmpeg {report.decoder_cpu_s:.1f} s, "
                f"encoder ffmpeg {report.encoder_cpu_s:.1f} s, this process {python_cpu:.1f} s "
                f"(of which in the detector {report.detect_s:.1f} s wall for "
                f"{report.detections} detections, blur {report.blur_s:.1f} s wall); "
                f"{report.frames_with_faces}/{report.frames} frames had a face"
            )
            print(
                f"  main thread waited {report.waiting_for_decoder_s:.1f} s for frames and "
                f"{report.waiting_for_encoder_s:.1f} s for the encoder"
            )
        cost = median([cpu / plain_cpu for _, plain_cpu, _, cpu, _ in rows])
        wall = median([w / pw for pw, _, w, _, _ in rows])
        print(
            f"median over {args.runs} runs ({args.seconds} s of 1080p30, detection every "
            f"{args.every} frames at {args.width} px): redaction / plain transcode = "
            f"{cost:.2f}x CPU, {wall:.2f}x wall (target <= 2.5x)"
        )


if __name__ == "__main__":
    main()
