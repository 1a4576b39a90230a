"""What metrics cost a request, and what a scrape costs.

    .venv/bin/python bench/metrics_bench.py [--requests 3000] [--runs 5]

Each run is a fresh process on the embedded default (SQLite, a throwaway data folder)
answering GET /healthz through Flask's test client: once recording metrics (as shipped),
once with recording switched off, interleaved. The cost is the ratio of their medians.
Then a scrape of /metrics, with the files of 8 processes in the folder, against one
/healthz of the same process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONE_RUN = """
import json, sys, tempfile, time
from videocoach.app import create_app
from videocoach.migrate import upgrade
from videocoach.observability import metrics

recording, count = sys.argv[1] == "on", int(sys.argv[2])
folder = tempfile.mkdtemp()
token = "b" * 8 + "0123456789abcdef0123456789abcdef"
app = create_app({"VIDEOCOACH_DATA_DIR": folder, "VIDEOCOACH_METRICS_TOKEN": token})
upgrade(app)
if not recording:
    metrics._metrics = None  # every recording call returns at once
client = app.test_client()
for _ in range(200):  # warm up
    client.get("/healthz")
started = time.perf_counter()
for _ in range(count):
    client.get("/healthz")
per_request = (time.perf_counter() - started) / count
scrape = None
if recording:
    import subprocess
    for _ in range(7):  # seven more processes' files, as under gunicorn + workers
        subprocess.run([sys.executable, "-c", (
            "import sys; from pathlib import Path; from videocoach.observability import metrics;"
            "metrics.start_recording(Path(sys.argv[1]));"
            "[metrics.request_answered(f'e{i}', 'GET', 200, 0.01) for i in range(40)];"
            "[metrics.step_took(s, 3.0) for s in ('probe', 'transcode', 'images')]"
        ), str(app.extensions['videocoach.settings'].metrics_dir)], check=True)
    headers = {"Authorization": "Bearer " + token}
    times = []
    for _ in range(50):
        started = time.perf_counter()
        assert client.get("/metrics", headers=headers).status_code == 200
        times.append(time.perf_counter() - started)
    scrape = sorted(times)[len(times) // 2]
print(json.dumps({"per_request": per_request, "scrape": scrape}))
"""


def one_run(recording: bool, count: int) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", ONE_RUN, "on" if recording else "off", str(count)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": tempfile.gettempdir()},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    on, off, scrapes = [], [], []
    for _ in range(args.runs):
        recorded = one_run(True, args.requests)
        on.append(recorded["per_request"])
        scrapes.append(recorded["scrape"])
        off.append(one_run(False, args.requests)["per_request"])
    with_metrics, without = statistics.median(on), statistics.median(off)
    scrape = statistics.median(scrapes)
    print(f"GET /healthz, {args.requests} requests x {args.runs} runs (medians):")
    print(f"  recording metrics  {with_metrics * 1e6:8.0f} us per request")
    print(f"  not recording      {without * 1e6:8.0f} us per request")
    print(f"  ratio              {with_metrics / without:8.3f}")
    print(
        f"GET /metrics with 8 processes' files: {scrape * 1e3:.1f} ms, "
        f"{scrape / with_metrics:.0f} x one /healthz"
    )


if __name__ == "__main__":
    main()
