"""The clip review page with 1,000 comments in Chromium: does the list freeze the player?

    python bench/review_page_bench.py [--comments 1000] [--loads 7] [--play-seconds 3]

Two real, processed clips (a generated 60 s 640x360 H.264 + AAC file, processed inline
with VIDEOCOACH_TASKS_EAGER=1), one without comments (the reference) and one with
--comments comments (kinds, goals, authors, ranges and replies varied), served by
`videocoach serve --no-worker`. Debian's Chromium (headless, driven by Playwright, never
downloaded) signs in, then loads each clip page --loads times, interleaved (the first
round is a warm-up and is not counted), and measures in the page:

- load: navigation start -> `#review[data-loaded=true]` (comments fetched and rendered)
  and -> the first frame painted after it;
- the longest main-thread task while loading (PerformanceObserver 'longtask');
- then plays the video for --play-seconds: the longest task while playing, the number of
  `timeupdate` events, the largest gap between two of them and how far the video got.

A frozen page shows long tasks of hundreds of ms and gaps in `timeupdate` (which Chromium
fires every ~250 ms while playing). The usual bar for "responsive" is no task over 200 ms.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PASSWORD, instance, median, migrated_app, web_server
from tests.helpers.chromium import launch_chromium, sign_in_with
from tests.helpers.media import make_lesson_clip_with

LONG_TASK_LIMIT_MS = 200

# Runs in every page before its own scripts: long tasks and the moment the list is loaded.
PROBE = """
(() => {
  const probe = (window.__probe = { longtasks: [], loaded: null, painted: null });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) probe.longtasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
  const seen = new MutationObserver(() => {
    const review = document.getElementById("review");
    if (!review || review.dataset.loaded !== "true" || probe.loaded !== null) return;
    probe.loaded = performance.now();
    seen.disconnect();
    requestAnimationFrame(() => setTimeout(() => { probe.painted = performance.now(); }, 0));
  });
  seen.observe(document, { subtree: true, attributes: true, attributeFilter: ["data-loaded"] });
})();
"""

LOAD_RESULT = """
async () => {
  const probe = window.__probe;
  while (probe.painted === null) await new Promise((r) => setTimeout(r, 20));
  const api = performance.getEntriesByType("resource")
    .find((e) => e.name.includes("/comments"));
  return {
    loaded: probe.loaded,
    painted: probe.painted,
    api_end: api ? api.responseEnd : null,
    items: document.querySelectorAll("#comment-list li.comment").length,
    markers: document.querySelectorAll("#timeline-markers .marker").length,
  };
}
"""

PLAY = """
async (seconds) => {
  const video = document.getElementById("player");
  if (video.readyState < 1) {
    await new Promise((resolve, reject) => {
      video.addEventListener("loadedmetadata", resolve, { once: true });
      video.addEventListener("error", () => reject(new Error("media error")), { once: true });
    });
  }
  video.muted = true;
  const stamps = [];
  const onTime = () => stamps.push(performance.now());
  video.addEventListener("timeupdate", onTime);
  await video.play();
  const start = performance.now();
  const from = video.currentTime;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const end = performance.now();
  const advanced = video.currentTime - from;
  video.pause();
  video.removeEventListener("timeupdate", onTime);
  const edges = [start, ...stamps.filter((t) => t >= start && t <= end), end];
  let gap = 0;
  for (let i = 1; i < edges.length; i++) gap = Math.max(gap, edges[i] - edges[i - 1]);
  return { start, end, timeupdates: edges.length - 2, max_gap: gap, advanced };
}
"""


def setup(env: dict[str, str], comments: int, seconds: int) -> dict[str, str]:
    """Users, a partnership, goals, two processed clips; returns the ids to visit."""
    app = migrated_app(env)
    from videocoach import create_app, db, transaction
    from videocoach.accounts.services import create_user
    from videocoach.clips.models import Clip
    from videocoach.clips.services import create_clip
    from videocoach.comments.services import create_comment
    from videocoach.partnerships.goals import create_goal
    from videocoach.partnerships.models import Membership
    from videocoach.partnerships.services import create_partnership

    eager = create_app({"VIDEOCOACH_TASKS_EAGER": "1"})
    data = Path(env["VIDEOCOACH_DATA_DIR"])
    source = make_lesson_clip_with("ffmpeg", data / "source.mp4", seconds, size="640x360")
    with eager.app_context():
        teacher = create_user("teacher@school.example", PASSWORD, "Tess Teacher")
        coach = create_user("coach@school.example", PASSWORD, "Cole Coach")
        pid = create_partnership(teacher, "Tess + Cole", "teacher").id
        db.session.add(Membership(partnership_id=pid, user_id=coach.id, role="coach"))
        goals = [create_goal(teacher, pid, title).id for title in ("Wait time", "Praise", "Pace")]
        db.session.commit()
        ids = {}
        for name in ("empty", "busy"):
            staged = data / f"{name}.mp4"
            shutil.copyfile(source, staged)
            cid = create_clip(
                teacher, pid, staged, filename="lesson.mp4", title=name, visibility="shared"
            ).id
            transaction.commit()  # processing is queued by the commit
            db.session.expire_all()
            clip = db.session.get(Clip, cid)
            assert clip is not None and clip.status == "ready", clip and clip.status
            ids[name] = cid
        length = clip.duration_ms / 1000 - 0.5
        tops: list[str] = []
        for i in range(comments):
            author = (teacher, coach)[i % 3 == 0]
            values: dict = {
                "body": f"Comment {i}: **well done** here, see https://example.org/{i}",
                "kind": ["strength", "question", "suggestion", "note"][i % 4],
                "goal_ids": [goals[g] for g in range(3) if (i >> g) & 1],
            }
            if i % 7 == 6 and tops:  # about one in seven is a reply
                values["parent_id"] = tops[(i * 13) % len(tops)]
            else:
                start = round((i * 0.37) % length, 3)
                values["t_start"] = start
                if i % 5 == 0:  # some ranges
                    values["t_end"] = round(min(length, start + 2 + i % 9), 3)
            comment = create_comment(author, ids["busy"], values)
            if comment.parent_id is None:
                tops.append(comment.id)
        db.session.commit()
    for each in (app, eager):
        each.extensions["videocoach.engine"].dispose()
    return {**ids, "email": "teacher@school.example"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--play-seconds", type=float, default=3)
    parser.add_argument("--clip-seconds", type=int, default=60)
    options = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with instance() as env:
        started = time.perf_counter()
        ids = setup(env, options.comments, options.clip_seconds)
        print(f"set up in {time.perf_counter() - started:.1f} s", flush=True)

        with web_server(env) as server, sync_playwright() as playwright:
            base = server.base
            browser = launch_chromium(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(60_000)
            context.add_init_script(PROBE)
            page = context.new_page()
            sign_in_with(page, base, ids["email"], PASSWORD)
            page.close()

            runs: dict[str, list[dict]] = {"empty": [], "busy": []}
            for round_ in range(options.loads + 1):
                for name in ("empty", "busy"):
                    page = context.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
                    wall = time.perf_counter()
                    page.goto(f"{base}/clips/{ids[name]}")
                    result = page.evaluate(LOAD_RESULT)
                    result["wall"] = (time.perf_counter() - wall) * 1000
                    result.update(page.evaluate(PLAY, options.play_seconds))
                    tasks = page.evaluate("window.__probe.longtasks")
                    page.close()
                    assert not errors, errors
                    during_load = [d for s, d in tasks if s < result["painted"]]
                    during_play = [d for s, d in tasks if s + d > result["start"]]
                    result["load_task"] = max(during_load, default=0.0)
                    result["play_task"] = max(during_play, default=0.0)
                    if round_:  # round 0 warms up caches and the server
                        runs[name].append(result)
            browser.close()

    def med(name: str, key: str) -> float:
        return median([r[key] for r in runs[name]])

    def top(name: str, key: str) -> float:
        return max(r[key] for r in runs[name])

    busy_items = runs["busy"][0]["items"]
    print(
        f"{options.comments} comments ({busy_items} list items, {runs['busy'][0]['markers']} "
        f"markers) vs 0, {options.loads} interleaved loads each, "
        f"{options.play_seconds:g} s of playback after each load"
    )
    header = (
        f"{'clip':8s} {'api done':>9s} {'loaded':>8s} {'painted':>8s} {'wall':>8s} "
        f"{'load task':>10s} {'(max)':>7s} {'play task':>10s} {'(max)':>7s} "
        f"{'timeupd':>8s} {'max gap':>8s} {'played':>7s}"
    )
    print(header + "   (medians in ms; (max) = worst of all loads)")
    for name, label in (("empty", "0"), ("busy", str(options.comments))):
        print(
            f"{label:8s} {med(name, 'api_end'):9.0f} {med(name, 'loaded'):8.0f} "
            f"{med(name, 'painted'):8.0f} {med(name, 'wall'):8.0f} "
            f"{med(name, 'load_task'):10.0f} {top(name, 'load_task'):7.0f} "
            f"{med(name, 'play_task'):10.0f} {top(name, 'play_task'):7.0f} "
            f"{med(name, 'timeupdates'):8.0f} {med(name, 'max_gap'):8.0f} "
            f"{med(name, 'advanced'):6.2f}s"
        )
    print(
        f"load ratio ({options.comments} / 0 comments): loaded "
        f"{med('busy', 'loaded') / med('empty', 'loaded'):.2f}x, painted "
        f"{med('busy', 'painted') / med('empty', 'painted'):.2f}x"
    )
    for name, label in (("empty", "0"), ("busy", str(options.comments))):
        tasks = sorted(round(r["load_task"]) for r in runs[name])
        over = sum(task > LONG_TASK_LIMIT_MS for task in tasks)
        limit = LONG_TASK_LIMIT_MS
        print(f"longest load task per load, {label} comments: {tasks} ms ({over} over {limit} ms)")
    worst = max(top("busy", "load_task"), top("busy", "play_task"))
    verdict = "met" if worst <= LONG_TASK_LIMIT_MS else "MISSED"
    print(
        f"longest task with {options.comments} comments: {worst:.0f} ms "
        f"(bar <= {LONG_TASK_LIMIT_MS} ms: {verdict}); timeupdate events while playing: "
        f"{med('busy', 'timeupdates'):.0f} vs {med('empty', 'timeupdates'):.0f} without comments"
    )


if __name__ == "__main__":
    main()
