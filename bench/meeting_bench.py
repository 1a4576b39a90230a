"""Meeting sync latency: from the driver's seek to the event reaching 20 listeners.

    python bench/meeting_bench.py [--listeners 20] [--seeks 100]

Two runs, each on real servers (`videocoach serve --no-worker`, SQLite):
- embedded: one process, the in-process channel; listeners and driver on the same server.
- redis: two processes with REDIS_URL (127.0.0.1:6379): every listener on one, the driver
  on the other, so each event goes web process -> Redis -> other web process -> browser.

Each listener is a real Server-Sent Events connection of its own partnership member.
Latency = the moment a listener has read the playback event minus the moment the driver
sent the seek (PUT /api/v1/meetings/<id>/playback), for every listener and seek.
References measured in the same run, interleaved with the seeks:
- a bare HTTP round trip on the same server (GET /healthz, keep-alive), and
- for redis, a bare pub/sub round trip (PUBLISH to a SUBSCRIBE on the same Redis).
Reports p50/p95 and the ratio of the seek p95 to each reference's p95.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    PASSWORD,
    add_ready_clip,
    instance,
    migrated_app,
    percentile,
    web_server,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
WARM_UP = 5


class Listener(threading.Thread):
    """Reads one event stream; records when each playback position arrived."""

    def __init__(self, port: int, meeting_id: str, token: str):
        super().__init__(daemon=True)
        self.arrived: dict[float, float] = {}
        self.ready = threading.Event()
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = f"/api/v1/meetings/{meeting_id}/events"
        self.headers = {"Authorization": f"Bearer {token}"}

    def run(self) -> None:
        self.connection.request("GET", self.path, headers=self.headers)
        response = self.connection.getresponse()
        assert response.status == 200, response.read()[:200]
        kind = None
        while True:
            line = response.fp.readline()
            if not line:
                return
            now = time.perf_counter()
            text = line.decode().rstrip("\n")
            if text.startswith("event: "):
                kind = text[7:]
            elif text.startswith("data: "):
                if kind == "hello":
                    self.ready.set()
                elif kind == "playback":
                    self.arrived[json.loads(text[6:])["position"]] = now


def setup(env: dict[str, str], listeners: int) -> tuple[str, str, list[str]]:
    """A partnership of a driver and `listeners` members, a shared clip and a meeting."""
    app = migrated_app(env)
    from videocoach import db
    from videocoach.accounts.services import create_user, issue_token
    from videocoach.meetings.services import start_meeting
    from videocoach.partnerships.models import Membership
    from videocoach.partnerships.services import create_partnership

    with app.app_context():
        driver = create_user("driver@school.example", PASSWORD, "Driver")
        pid = create_partnership(driver, "Bench", "coach").id
        tokens = []
        for n in range(listeners):
            member = create_user(f"member{n}@school.example", PASSWORD, f"Member {n}")
            db.session.add(Membership(partnership_id=pid, user_id=member.id, role="teacher"))
            tokens.append(issue_token(member)[0])
        clip = add_ready_clip(pid, driver.id)
        meeting, _ = start_meeting(driver, clip.id)
        driver_token = issue_token(driver)[0]
        db.session.commit()
        meeting_id = meeting.id
    app.extensions["videocoach.engine"].dispose()
    return meeting_id, driver_token, tokens


def redis_round_trips(count: int) -> list[float]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("videocoach:bench:ping")
    while pubsub.get_message(timeout=1.0) is None and not pubsub.subscribed:
        pass
    times = []
    for n in range(count):
        start = time.perf_counter()
        client.publish("videocoach:bench:ping", str(n))
        while True:
            message = pubsub.get_message(timeout=5.0)
            if message and message["data"] == str(n).encode():
                break
        times.append(time.perf_counter() - start)
    pubsub.close()
    return times


def measure(
    listen_port: int,
    drive_port: int,
    meeting_id: str,
    driver_token: str,
    tokens: list[str],
    seeks: int,
) -> tuple[list[float], list[float], list[float], list[float]]:
    listeners = [Listener(listen_port, meeting_id, token) for token in tokens]
    for listener in listeners:
        listener.start()
    for listener in listeners:
        assert listener.ready.wait(30), "a listener got no hello"
    drive = http.client.HTTPConnection("127.0.0.1", drive_port, timeout=30)
    ping = http.client.HTTPConnection("127.0.0.1", listen_port, timeout=30)
    headers = {"Authorization": f"Bearer {driver_token}", "Content-Type": "application/json"}
    every, slowest, bare, answered = [], [], [], []
    for n in range(seeks + WARM_UP):
        position = round(1 + n * 0.5, 3)
        body = json.dumps({"position": position, "playing": False})
        start = time.perf_counter()
        drive.request("PUT", f"/api/v1/meetings/{meeting_id}/playback", body, headers)
        response = drive.getresponse()
        response.read()
        put_took = time.perf_counter() - start
        assert response.status == 200
        deadline = time.monotonic() + 10
        while any(position not in lis.arrived for lis in listeners):
            if time.monotonic() > deadline:
                raise AssertionError(f"seek {position} did not reach every listener")
            time.sleep(0.0005)
        latencies = [lis.arrived[position] - start for lis in listeners]
        ping_start = time.perf_counter()
        ping.request("GET", "/healthz")
        ping.getresponse().read()
        ping_took = time.perf_counter() - ping_start
        if n >= WARM_UP:
            every += latencies
            slowest.append(max(latencies))
            bare.append(ping_took)
            answered.append(put_took)
        time.sleep(0.02)
    return every, slowest, bare, answered


def report(name: str, values: list[float]) -> str:
    return (
        f"  {name:34s} p50 {statistics.median(values) * 1000:7.2f} ms   "
        f"p95 {percentile(values, 0.95) * 1000:7.2f} ms"
    )


def run(mode: str, listeners: int, seeks: int) -> None:
    extra = {"REDIS_URL": REDIS_URL} if mode == "redis" else {"REDIS_URL": ""}
    with instance(**extra) as env, ExitStack() as servers:
        meeting_id, driver_token, tokens = setup(env, listeners)
        names = ["serve-a", "serve-b"] if mode == "redis" else ["serve"]
        ports = [servers.enter_context(web_server(env, name)).port for name in names]
        every, slowest, bare, answered = measure(
            ports[0], ports[-1], meeting_id, driver_token, tokens, seeks
        )
        pubsub = redis_round_trips(seeks) if mode == "redis" else None
    where = (
        "listeners on process A, driver on process B, through Redis"
        if mode == "redis"
        else "one process, in-process channel"
    )
    print(f"{mode}: {listeners} listeners, {seeks} seeks ({where})")
    print(report("seek -> each listener", every))
    print(report("seek -> last of the listeners", slowest))
    print(report("driver's seek request answered", answered))
    print(report("bare HTTP round trip (/healthz)", bare))
    p95 = percentile(every, 0.95)
    ratios = f"seek p95 / bare HTTP p95 = {p95 / percentile(bare, 0.95):.1f}x"
    if pubsub is not None:
        print(report("bare Redis pub/sub round trip", pubsub))
        ratios += f"; / bare pub/sub p95 = {p95 / percentile(pubsub, 0.95):.1f}x"
    print(f"  {ratios}; target: well under 1 s ({p95 * 1000:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=20)
    parser.add_argument("--seeks", type=int, default=100)
    parser.add_argument("--mode", choices=["embedded", "redis", "both"], default="both")
    options = parser.parse_args()
    modes = ["embedded", "redis"] if options.mode == "both" else [options.mode]
    for mode in modes:
        run(mode, options.listeners, options.seeks)


if __name__ == "__main__":
    main()
