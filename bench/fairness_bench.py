"""How long an 8 s clip from one person waits when another person's two long jobs are ahead.

    python bench/fairness_bench.py [--ahead long|forged] [--runs 3] [--long-seconds 720]
                                   [--long-size 160x120]

For each run and each mode, a fresh instance and a real embedded worker (`videocoach worker
--concurrency 2`, the file transport), then:
  1. reference: the 8 s clip (320x240 H.264 + AAC) uploaded alone: upload complete -> ready
     is its own processing time, measured in the same run;
  2. person A's two jobs, then person B's 8 s clip: upload complete -> ready of B's clip.
B's wait is (2) minus (1), reported as a ratio to (1). The jobs ahead are either
  long:   two real clips of --long-seconds at --long-size (a variable frame rate source
          kept at 2 pictures a second, so cheap to make; its 30 fps web rendition takes the
          time of a long clip), long by VIDEOCOACH_LONG_CLIP_MINUTES' default of 10 minutes;
  forged: two 1.6 KB files declaring 3 h 53 min (two pictures 13980 s apart), issue #11.
Modes, interleaved: "fair" (the defaults) and "fifo" (VIDEOCOACH_SHORT_CLIP_SLOTS=0 and
VIDEOCOACH_JOBS_PER_UPLOADER=0: any clip takes any slot, first come first served, as before
the fair turns). Run from a checkout of the commit before to measure "before" for real
(there the two modes are the same).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PASSWORD, instance, median, migrated_app, process, videocoach
from tests.helpers.media import (
    make_forged_duration_clip,
    make_lesson_clip_with,
    make_long_cheap_clip,
)

MODES = {
    "fifo": {"VIDEOCOACH_SHORT_CLIP_SLOTS": "0", "VIDEOCOACH_JOBS_PER_UPLOADER": "0"},
    "fair": {},
}


def run_once(mode: str, clips: dict[str, Path], work: Path) -> dict[str, float]:
    """One fresh instance and worker; seconds from upload complete to ready (or failed)."""
    for name in MODES["fifo"]:  # migrated_app() put the last mode's settings in os.environ
        os.environ.pop(name, None)
    with instance(dir=str(work), **MODES[mode]) as env:
        app = migrated_app(env)
        from videocoach import db, transaction
        from videocoach.accounts.services import create_user
        from videocoach.clips import services
        from videocoach.clips.models import Clip
        from videocoach.partnerships.models import Membership
        from videocoach.partnerships.services import create_partnership

        with app.app_context():
            teacher = create_user(f"a-{mode}@school.example", PASSWORD, "A")
            coach = create_user(f"b-{mode}@school.example", PASSWORD, "B")
            pid = create_partnership(teacher, "Bench", "teacher").id
            db.session.add(Membership(partnership_id=pid, user_id=coach.id, role="coach"))
            db.session.commit()
            people = {"A": teacher.id, "B": coach.id}

        def upload(who: str, source: Path) -> str:
            staged = work / f"staged-{time.monotonic_ns()}"
            shutil.copyfile(source, staged)
            with app.app_context():
                from videocoach.accounts.models import User

                user = db.session.get(User, people[who])
                clip_id = services.create_clip(
                    user, pid, staged, filename=source.name, title=who, visibility="shared"
                ).id
                transaction.commit()  # processing is queued by the commit
            return clip_id

        def finished(clip_ids: list[str], timeout: float = 3600) -> dict[str, float]:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with app.app_context():
                    rows = [db.session.get(Clip, cid) for cid in clip_ids]
                    if all(row.status in ("ready", "failed") for row in rows):
                        return {
                            row.id: (
                                (row.ready_at or row.updated_at) - row.created_at
                            ).total_seconds()
                            for row in rows
                        }
                time.sleep(0.1)
            raise SystemExit(f"clips not finished after {timeout} s")

        log = Path(env["VIDEOCOACH_DATA_DIR"]) / "worker.log"
        with process(videocoach("worker", "--concurrency", "2"), env, log):
            deadline = time.monotonic() + 60
            while "ready." not in log.read_text():
                if time.monotonic() > deadline:
                    raise SystemExit(f"worker did not start:\n{log.read_text()}")
                time.sleep(0.2)
            alone_id = upload("B", clips["short"])
            alone = finished([alone_id])[alone_id]
            first, second = upload("A", clips["ahead"]), upload("A", clips["ahead"])
            short = upload("B", clips["short"])
            took = finished([first, second, short])
        return {"alone": alone, "behind": took[short], "ahead": max(took[first], took[second])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ahead", choices=("long", "forged"), default="long")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--long-seconds", type=int, default=720)
    parser.add_argument("--long-size", default="160x120", help="picture size of the long clips")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vc-bench-fair-") as tmp:
        work = Path(tmp)
        clips = {"short": make_lesson_clip_with("ffmpeg", work / "short.mp4", 8)}
        if options.ahead == "long":
            clips["ahead"] = make_long_cheap_clip(
                "ffmpeg", work / "long.mp4", options.long_seconds, size=options.long_size
            )
        else:
            clips["ahead"] = make_forged_duration_clip("ffmpeg", work / "forged.mp4")
        print(
            f"jobs ahead: 2 x {options.ahead} ({clips['ahead'].stat().st_size / 1e3:.1f} kB); "
            f"short clip: 8 s ({clips['short'].stat().st_size / 1e3:.0f} kB)",
            flush=True,
        )
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for run in range(options.runs):
            for mode in MODES:
                result = run_once(mode, clips, work)
                results[mode].append(result)
                wait = result["behind"] - result["alone"]
                print(
                    f"run {run + 1} {mode}: short alone {result['alone']:5.1f} s | behind two "
                    f"{options.ahead} jobs {result['behind']:6.1f} s (wait {wait:6.1f} s = "
                    f"{wait / result['alone']:5.1f}x its own) | jobs ahead done after "
                    f"{result['ahead']:6.1f} s",
                    flush=True,
                )
    print()
    for mode, rows in results.items():
        alone = median([row["alone"] for row in rows])
        behind = median([row["behind"] for row in rows])
        ratios = [(row["behind"] - row["alone"]) / row["alone"] for row in rows]
        print(
            f"{mode}: median wait / own processing = {median(ratios):.2f} "
            f"(alone {alone:.1f} s, behind {behind:.1f} s)"
        )


if __name__ == "__main__":
    main()
