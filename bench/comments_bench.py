"""Comments API latency with 1,000 comments on a clip, on the embedded default.

    python bench/comments_bench.py [--comments 1000] [--requests 200]

Serves `videocoach serve --no-worker` (SQLite, one process) and times, interleaved, GET
/api/v1/clips/<id>/comments (all 1,000 comments with goals and authors) and GET /healthz
(the reference: the same server, auth-free, no database) over keep-alive HTTP.
Reports p50/p95 of each and their ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PASSWORD, add_ready_clip, instance, migrated_app, percentile, web_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    options = parser.parse_args()

    with instance() as env:
        app = migrated_app(env)
        from videocoach import db
        from videocoach.accounts.services import create_user, issue_token
        from videocoach.comments.services import create_comment
        from videocoach.partnerships.goals import create_goal
        from videocoach.partnerships.services import create_partnership

        with app.app_context():
            user = create_user("bench@school.example", PASSWORD, "Bench")
            pid = create_partnership(user, "Bench", "teacher").id
            goals = [create_goal(user, pid, f"Goal {i}").id for i in range(3)]
            clip = add_ready_clip(pid, user.id)
            for i in range(options.comments):
                create_comment(
                    user,
                    clip.id,
                    {
                        "body": f"Comment {i}: **well done** here, see https://example.org/{i}",
                        "t_start": (i * 3.7) % 3600,
                        "kind": ["strength", "question", "suggestion", "note"][i % 4],
                        "goal_ids": [goals[i % 3]],
                    },
                )
            token, _ = issue_token(user)
            clip_id = clip.id
            db.session.commit()
        app.extensions["videocoach.engine"].dispose()

        with web_server(env) as server:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            headers = {"Authorization": f"Bearer {token}"}
            timings: dict[str, list[float]] = {"comments": [], "healthz": []}
            paths = {"comments": f"/api/v1/clips/{clip_id}/comments", "healthz": "/healthz"}
            for round_ in range(options.requests + 10):
                for name, path in paths.items():
                    start = time.perf_counter()
                    connection.request("GET", path, headers=headers)
                    response = connection.getresponse()
                    body = response.read()
                    took = time.perf_counter() - start
                    assert response.status == 200, body[:200]
                    if round_ >= 10:  # warm-up rounds are not counted
                        timings[name].append(took)
            count = len(json.loads(body if name == "comments" else b'{"items": []}')["items"])

    comments, healthz = timings["comments"], timings["healthz"]
    print(f"{options.comments} comments, {options.requests} interleaved requests each")
    for name, values in timings.items():
        print(
            f"{name:9s}: p50 {statistics.median(values) * 1000:6.1f} ms, "
            f"p95 {percentile(values, 0.95) * 1000:6.1f} ms"
        )
    print(
        f"comments p95 = {percentile(comments, 0.95) * 1000:.1f} ms (target <= 50 ms); "
        f"{percentile(comments, 0.95) / percentile(healthz, 0.95):.1f}x the /healthz p95"
    )
    del count


if __name__ == "__main__":
    main()
