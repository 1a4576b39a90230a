"""Upload-complete -> playable and -> ready, against bare ffmpeg references, interleaved.

    python bench/pipeline_bench.py [--seconds 180] [--runs 3]

Generates a 1080p30 H.264 + AAC clip (phone-like), starts a real embedded worker
(`videocoach worker`, file transport) and, for each run, times in this order:
  A. bare ffmpeg: 720p libx264 veryfast CRF 23 + AAC, +faststart (the transcode reference)
  B. videocoach: a clip created from the file (what a finished upload does) until `ready`,
     and until `media.video` is playable (the fast-path remux)
  C. bare ffmpeg: -c copy +faststart remux, plus ffprobe (the playable reference)
Ratios use medians of interleaved runs (the host's speed drifts; compare neighbours only).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PASSWORD, instance, median, migrated_app, process, timed, videocoach


def ffmpeg(*args: str) -> list[str]:
    """ffmpeg with `args`, overwriting its output and printing errors only: as every run here."""
    return ["ffmpeg", "-v", "error", "-y", *args]


def make_clip(path: Path, seconds: int) -> None:
    subprocess.run(
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=220:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "60",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-shortest",
            str(path),
        ),
        check=True,
    )


def reference_transcode(src: Path, out: Path) -> float:
    return timed(
        ffmpeg(
            "-i",
            str(src),
            "-vf",
            "scale=-2:720",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
            str(out),
        )
    )


def reference_remux(src: Path, out: Path) -> float:
    probe = timed(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(src)]
    )
    remux = timed(
        ffmpeg(
            "-i",
            str(src),
            "-map",
            "0:v:0",
            "-map",
            "0:a:0?",
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(out),
        )
    )
    return probe + remux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vc-bench-media-") as tmp, instance() as env:
        work = Path(tmp)
        clip = work / "lesson-1080p.mp4"
        print(f"generating a {options.seconds} s 1080p30 H.264 clip ...", flush=True)
        make_clip(clip, options.seconds)
        print(f"  {clip.stat().st_size / 1e6:.0f} MB", flush=True)

        app = migrated_app(env)
        from videocoach import db, transaction
        from videocoach.accounts.services import create_user
        from videocoach.clips import services
        from videocoach.clips.models import Clip
        from videocoach.partnerships.services import create_partnership

        with app.app_context():
            user = create_user("bench@school.example", PASSWORD, "Bench")
            pid = create_partnership(user, "Bench", "teacher").id
            db.session.commit()

        log = Path(env["VIDEOCOACH_DATA_DIR"]) / "worker.log"
        rows = []
        with process(videocoach("worker", "--concurrency", "1"), env, log):
            deadline = time.monotonic() + 60
            while "ready." not in log.read_text():
                if time.monotonic() > deadline:
                    raise SystemExit(f"worker did not start:\n{log.read_text()}")
                time.sleep(0.2)
            for run in range(options.runs):
                transcode_s = reference_transcode(clip, work / "ref.mp4")
                staged = work / "staged.mp4"
                shutil.copyfile(clip, staged)
                with app.app_context():
                    user = db.session.merge(user)
                    started = time.perf_counter()
                    clip_id = services.create_clip(
                        user,
                        pid,
                        staged,
                        filename="lesson.mp4",
                        title="Bench",
                        visibility="private",
                    ).id
                    transaction.commit()  # processing is queued by the commit
                while True:
                    with app.app_context():
                        row = db.session.get(Clip, clip_id)
                        status = row.status
                    if status in ("ready", "failed"):
                        break
                    time.sleep(0.1)
                wall_ready_s = time.perf_counter() - started
                if status != "ready":
                    raise SystemExit(f"clip failed: {row.error}")
                playable_s = (row.playable_at - row.created_at).total_seconds()
                ready_s = (row.ready_at - row.created_at).total_seconds()
                remux_s = reference_remux(clip, work / "remux.mp4")
                rows.append((transcode_s, ready_s, wall_ready_s, playable_s, remux_s))
                print(
                    f"run {run + 1}: transcode ref {transcode_s:6.1f} s | ready {ready_s:6.1f} s "
                    f"(polled {wall_ready_s:6.1f} s) | playable {playable_s:5.2f} s | "
                    f"remux+probe ref {remux_s:5.2f} s",
                    flush=True,
                )

    transcode, ready, _wall, playable, remux = (
        median(list(col)) for col in zip(*rows, strict=False)
    )
    print()
    print(f"ready / bare transcode       = {ready / transcode:.3f}   (target <= 1.25)")
    print(
        f"playable / (remux + probe)   = {playable / remux:.2f}   "
        f"(target <= 2 plus 1.5 s dispatch: {playable:.2f} s vs {2 * remux + 1.5:.2f} s)"
    )


if __name__ == "__main__":
    main()
