"""Uploading a large file: server memory growth and throughput against a plain file copy.

    python bench/upload_bench.py [--gigabytes 2]

Serves the embedded default (`videocoach serve --no-worker`: one process), then uploads
the same file with curl both ways a browser or script would: tus (one PATCH) and multipart.
The reference is `cp` of the same file on the same disk, timed in the same run, interleaved.
Each operation starts after `sync` and is timed twice: until it returns (bytes in the page
cache: noisy, the kernel's writeback decides) and until a following `sync` returns (bytes
on disk: what both really cost). Memory is the server's resident set, sampled every 20 ms,
minus its size before the upload.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PASSWORD, instance, median, timed, web_server
from tests.helpers.live_api import teacher_with_partnership
from tests.helpers.tus import metadata_header

MiB = 1024 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)


def curl(*args: str) -> str:
    """What `curl -sS <args>` prints (headers too, with -i); a failed transfer raises."""
    return subprocess.run(["curl", "-sS", *args], check=True, capture_output=True, text=True).stdout


def header_args(*headers: str) -> list[str]:
    """curl's `-H <header>` for each header, so a request reads as its list of headers."""
    return [arg for header in headers for arg in ("-H", header)]


def tus_upload(base: str, token: str, pid: str, path: Path) -> float:
    meta = metadata_header(partnership_id=pid, filename=path.name, title="Bench")
    start = time.perf_counter()
    created = curl(
        "-i",
        "-X",
        "POST",
        f"{base}/api/v1/uploads",
        *header_args(
            f"Authorization: Bearer {token}",
            "Tus-Resumable: 1.0.0",
            f"Upload-Length: {path.stat().st_size}",
            f"Upload-Metadata: {meta}",
        ),
    )
    location = next(
        line.split(":", 1)[1].strip()
        for line in created.splitlines()
        if line.lower().startswith("location:")
    )
    finished = curl(
        "-i",
        "-X",
        "PATCH",
        "-T",
        str(path),
        location,
        *header_args(
            f"Authorization: Bearer {token}",
            "Tus-Resumable: 1.0.0",
            "Upload-Offset: 0",
            "Content-Type: application/offset+octet-stream",
            "Expect:",
        ),
    )
    elapsed = time.perf_counter() - start
    assert "Videocoach-Clip-Id" in finished, finished[:500]
    return elapsed


def multipart_upload(base: str, token: str, pid: str, path: Path) -> float:
    start = time.perf_counter()
    out = curl(
        "-X",
        "POST",
        f"{base}/api/v1/partnerships/{pid}/clips",
        *header_args(f"Authorization: Bearer {token}", "Expect:"),
        "-F",
        f"file=@{path};type=video/mp4",
        "-F",
        "title=Bench",
    )
    elapsed = time.perf_counter() - start
    assert '"clip"' in out, out[:500]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=2)
    options = parser.parse_args()
    size = int(options.gigabytes * 1024**3)

    with (
        tempfile.TemporaryDirectory(prefix="vc-bench-upload-", dir="/var/tmp") as tmp,
        instance(dir="/var/tmp") as env,
    ):
        big = Path(tmp) / "big.mp4"
        with big.open("wb") as handle:
            block = os.urandom(64 * MiB)
            for _ in range(size // len(block)):
                handle.write(block)
        with web_server(env) as server:
            base = server.base
            token, pid = teacher_with_partnership(
                base, "bench@school.example", PASSWORD, "Bench", "Bench"
            )
            server_pid = server.child.pid
            media = Path(env["VIDEOCOACH_DATA_DIR"])
            results: dict[str, list[float]] = {}
            durable: dict[str, list[float]] = {}
            growth: dict[str, int] = {"tus": 0, "multipart": 0}
            copy = Path(tmp) / "copy.mp4"

            def cp(*_args: object) -> float:
                return timed(["cp", str(big), str(copy)])

            def dd(*_args: object) -> float:  # a copy through user space, 1 MiB at a time
                return timed(["dd", f"if={big}", f"of={copy}", "bs=1M", "status=none"])

            for _ in range(options.runs):
                for name, operation in (
                    ("cp", cp),
                    ("dd", dd),
                    ("tus", tus_upload),
                    ("multipart", multipart_upload),
                ):
                    subprocess.run(["sync"], check=True)
                    baseline = rss_kib(server_pid)
                    sampler = PeakSampler(server_pid)
                    sampler.start()
                    took = operation(base, token, pid, big)
                    flushed = took + timed(["sync"])
                    sampler.running = False
                    sampler.join()
                    results.setdefault(name, []).append(took)
                    durable.setdefault(name, []).append(flushed)
                    if name in growth:
                        growth[name] = max(growth[name], sampler.peak - baseline)
                    copy.unlink(missing_ok=True)
                    for stored in (media / "media" / "clips").rglob("original"):
                        stored.unlink()  # keep the disk from filling across runs
    print(f"file: {size / 1024**3:.2f} GiB, {options.runs} interleaved runs, medians")
    for name in ("cp", "dd", "tus", "multipart"):
        cached, on_disk = median(results[name]), median(durable[name])
        line = (
            f"{name:9s}: {cached:6.2f} s to return ({size / cached / MiB:5.0f} MiB/s), "
            f"{on_disk:6.2f} s to disk ({size / on_disk / MiB:5.0f} MiB/s)"
        )
        if name in growth:
            line += (
                f"\n           vs cp: {median(results['cp']) / cached:.2f} x returned, "
                f"{median(durable['cp']) / on_disk:.2f} x on disk; "
                f"vs dd: {median(results['dd']) / cached:.2f} x returned, "
                f"{median(durable['dd']) / on_disk:.2f} x on disk (target >= 0.5); "
                f"peak RSS growth {growth[name] / 1024:.1f} MiB (target <= 64)"
            )
        print(line)


if __name__ == "__main__":
    main()
