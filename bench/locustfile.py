"""Locust users for bench/load_bench.py (which seeds the data and reads the results).

    locust -f bench/locustfile.py --headless --host http://127.0.0.1:PORT -u 50 -r 10 -t 60s \
        BrowserUser ApiUser          # the mix; `HealthzUser` alone is the reference phase

Reads the seed that load_bench.py wrote (LOAD_BENCH_SEED: clips, goals, accounts, tokens)
and writes what it saw to LOAD_BENCH_OUT (JSON): every request's end time and duration,
the status codes per request, the ids of the comments answered with 201, and failures.

Every request goes as if through the TLS proxy of docs/configuration.md: the app runs with
VIDEOCOACH_ENV=production and VIDEOCOACH_TRUSTED_PROXIES=127.0.0.1, so each request
carries X-Forwarded-Proto: https and X-Forwarded-For with the simulated user's own address
(127.x.y.n: a header value only, every byte goes to 127.0.0.1). That keeps the production
cookies (Secure), CSRF's Referer check for https, and the login rate limit per client
address as they are.

- BrowserUser signs in on /login (form + CSRF token, session cookie), then opens a clip's
  review page and loads its comments as review.js does, and writes comments through the
  API with the cookie and the X-CSRFToken header.
- ApiUser uses a bearer token: lists a clip's comments and posts comments.
- HealthzUser only asks GET /healthz (no auth, no database): the reference.

No think time: each user sends its next request as soon as the answer to the last one
has arrived, so the numbers are the server's capacity under this many clients.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

from locust import FastHttpUser, constant, events, task

SEED: dict = json.loads(Path(os.environ["LOAD_BENCH_SEED"]).read_text())
OUT = os.environ["LOAD_BENCH_OUT"]

KINDS = ["strength", "question", "suggestion", "note"]
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

# What load_bench.py reads afterwards.
_lock = threading.Lock()
samples: dict[str, list[tuple[float, float]]] = defaultdict(list)  # name -> (end, ms)
statuses: dict[str, Counter] = defaultdict(Counter)
created: list[str] = []  # ids of comments answered 201
failures: list[dict] = []  # {at, key, status, error}
marks: dict[str, float] = {}
_user_numbers = itertools.count(1)
rng = random.Random()  # noqa: S311 (a load mix, not secrets)


def address(n: int) -> str:
    """The simulated user's own client address (sent as X-Forwarded-For only)."""
    return f"{SEED['address_prefix']}.{n // 250}.{n % 250 + 1}"


@events.test_start.add_listener
def _started(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    marks["test_start"] = time.time()


@events.spawning_complete.add_listener
def _spawned(user_count: int, **_kwargs) -> None:
    marks["spawning_complete"] = time.time()
    marks["users"] = user_count


@events.test_stopping.add_listener
def _stopping(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    marks["test_stopping"] = time.time()


@events.request.add_listener
def _request(request_type, name, response_time, response, exception, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    key = f"{request_type} {name}"
    status = getattr(response, "status_code", None) if response is not None else None
    with _lock:
        samples[key].append((time.time(), response_time))
        statuses[key][str(status) if status else type(exception).__name__] += 1
        if exception is not None:
            failures.append(
                {
                    "at": time.time(),
                    "key": key,
                    "status": status or 0,
                    "error": repr(exception)[:500],
                }
            )


@events.user_error.add_listener
def _user_error(user_instance, exception, tb, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    with _lock:
        failures.append(
            {
                "at": time.time(),
                "key": f"user error in {type(user_instance).__name__}",
                "status": 0,
                "error": repr(exception)[:500],
            }
        )


@events.quitting.add_listener
def _quitting(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    import psutil

    cpu = psutil.Process().cpu_times()
    with open(OUT, "w") as handle:
        json.dump(
            {
                "marks": marks,
                "samples": samples,
                "statuses": statuses,
                "created": created,
                "failures": failures,
                "locust_cpu_s": cpu.user + cpu.system,
            },
            handle,
        )


def _clip() -> dict:
    return rng.choice(SEED["clips"])


def _comment_body(clip: dict, who: str) -> dict:
    start = round(rng.uniform(0, clip["duration_s"] - 1.0), 3)
    body: dict = {
        "body": f"Load test comment by {who}: **nice** moment at {start:.1f} s",
        "t_start": start,
        "kind": rng.choice(KINDS),
        "goal_ids": [rng.choice(SEED["goal_ids"])],
    }
    if rng.random() < 0.25:
        body["t_end"] = round(min(clip["duration_s"], start + rng.uniform(0.5, 3)), 3)
    return body


class _ProxiedUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.number = next(_user_numbers)
        self.address = address(self.number)
        # Half the users are the teacher, half the coach (each user its own session).
        self.account = SEED["accounts"][self.number % len(SEED["accounts"])]

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-Forwarded-For": self.address, "X-Forwarded-Proto": "https", **extra}

    def referer(self, path: str) -> str:
        return f"https://{SEED['host']}{path}"

    def check(self, response, status: int, what: str) -> bool:  # type: ignore[no-untyped-def]
        if response.status_code != status:
            if not response.status_code:  # no answer at all: say what the connection did
                detail = repr(getattr(response, "error", None))
            else:
                detail = repr((response.text or "")[:300])
            response.failure(f"{what}: expected {status}, got {response.status_code}: {detail}")
            return False
        return True

    def list_comments(self, clip: dict, name: str, **headers: str) -> None:
        with self.client.get(
            f"/api/v1/clips/{clip['id']}/comments",
            name=name,
            headers=self.headers(Accept="application/json", **headers),
            catch_response=True,
        ) as response:
            if self.check(response, 200, "comments"):
                try:
                    response.json()["items"]
                except (ValueError, KeyError) as error:
                    response.failure(f"comments: not a list: {error!r}")

    def post_comment(self, clip: dict, name: str, **headers: str) -> None:
        with self.client.post(
            f"/api/v1/clips/{clip['id']}/comments",
            name=name,
            json=_comment_body(clip, self.address),
            headers=self.headers(**headers),
            catch_response=True,
        ) as response:
            if self.check(response, 201, "post comment"):
                try:
                    comment_id = response.json()["comment"]["id"]
                except (ValueError, KeyError) as error:
                    response.failure(f"post comment: 201 without a comment: {error!r}")
                else:
                    with _lock:
                        created.append(comment_id)

    def healthz(self) -> None:
        # Like a load balancer's probe: no credentials.
        headers = _ProxiedUser.headers(self)
        with self.client.get(
            "/healthz", name="/healthz", headers=headers, catch_response=True
        ) as response:
            self.check(response, 200, "healthz")


class HealthzUser(_ProxiedUser):
    """The reference: the same server, the same number of clients, no auth, no database."""

    @task
    def get_healthz(self) -> None:
        self.healthz()


class BrowserUser(_ProxiedUser):
    """A person on the review page: session cookie, CSRF token, review.js's API calls."""

    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.csrf = ""
        # The app sets Secure cookies (it sees https through the proxy headers); the bench
        # speaks plain http to it, so let this cookie jar send them over http as well.
        self.client.cookiejar.set_policy(
            DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
        )
        with self.client.get(
            "/login", name="/login (page)", headers=self.headers(), catch_response=True
        ) as response:
            if not self.check(response, 200, "login page"):
                return
            found = CSRF_FIELD.search(response.text or "")
            if not found:
                response.failure("login page without a csrf_token field")
                return
        with self.client.post(
            "/login",
            name="/login (sign in)",
            data={
                "csrf_token": found.group(1),
                "email": self.account["email"],
                "password": SEED["password"],
            },
            headers=self.headers(
                Referer=self.referer("/login"),
                **{"Content-Type": "application/x-www-form-urlencoded"},
            ),
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if self.check(response, 302, "sign in"):
                location = response.headers.get("Location", "")
                if "/login" in location:
                    response.failure(f"sign in redirected back to {location}")

    @task(4)
    def open_clip(self) -> None:
        clip = _clip()
        path = f"/clips/{clip['id']}"
        with self.client.get(
            path,
            name="/clips/[cid] (page, cookie)",
            headers=self.headers(Accept="text/html"),
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if not self.check(response, 200, "clip page"):
                return
            text = response.text or ""
            found = CSRF_META.search(text)
            if 'id="review"' not in text or not found:
                response.failure("clip page without the review area or the CSRF meta tag")
                return
            self.csrf = found.group(1)
        # review.js then loads the comments with the cookie.
        self.list_comments(
            clip, "/api/v1/clips/[cid]/comments (cookie)", Referer=self.referer(path)
        )

    @task(1)
    def write_comment(self) -> None:
        if not self.csrf:
            self.open_clip()
            return
        clip = _clip()
        self.post_comment(
            clip,
            "/api/v1/clips/[cid]/comments (cookie)",
            Referer=self.referer(f"/clips/{clip['id']}"),
            **{"X-CSRFToken": self.csrf},
        )

    @task(1)
    def get_healthz(self) -> None:
        self.healthz()


class ApiUser(_ProxiedUser):
    """A script or an integration: bearer token, JSON only."""

    weight = 2

    def headers(self, **extra: str) -> dict[str, str]:
        return super().headers(Authorization=f"Bearer {self.account['token']}", **extra)

    @task(4)
    def read_comments(self) -> None:
        self.list_comments(_clip(), "/api/v1/clips/[cid]/comments (token)")

    @task(1)
    def write_comment(self) -> None:
        self.post_comment(_clip(), "/api/v1/clips/[cid]/comments (token)")

    @task(1)
    def get_healthz(self) -> None:
        self.healthz()
