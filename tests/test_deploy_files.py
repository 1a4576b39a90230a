"""The production deployment in docker/: compose.yaml against the Compose Specification and
the project's own rules (rotated logs, pinned images, secrets as files, limits and health
checks for workers, web behind the proxy alone), the proxy's Caddyfile run for real in
front of stand-in upstreams, gunicorn's default address, the pinned build, and the secrets
generator. No Docker daemon is needed: what Docker itself would do is left to it.

tests/vendor/compose-spec.json is schema/compose-spec.json of github.com/compose-spec/
compose-spec, as last changed in commit a08f8d51631b7127ddac3d2c65537db429d0f1d0
(2025-10-21), unchanged at 170098ba07d9f53c383a41bfd4c5166b0a4529a6 (2026-06-23).
"""

from __future__ import annotations

import json
import os
import re
import runpy
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import free_port
from tests.helpers.processes import running
from videocoach.config import SECRET_SETTINGS, Settings, url_password

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
BIN = Path(sys.executable).parent
SCHEMA = json.loads((Path(__file__).parent / "vendor" / "compose-spec.json").read_text())
COMPOSE_TEXT = (DOCKER / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# What a deployment would have in docker/.env, for interpolation.
DOT_ENV = {"VIDEOCOACH_PUBLIC_URL": "https://videocoach.example.org"}
# The services that run the app's own image.
APP = ("migrate", "web", "worker")
# Secrets of the images compose.yaml runs, besides the app's own.
IMAGE_SECRETS = ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "APP_SECRET_KEY")

# --- compose's variable interpolation, as far as compose.yaml uses it -----------------------

VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` with ${NAME}, ${NAME:-default}, ${NAME:?error} replaced and $$ made $."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        present = env.get(name)
        if op in (":-", ":?") and not present:
            present = None
        if present is not None:
            return present
        if op and op.endswith("?"):
            raise MissingVariable(arg)
        return arg if op else ""

    return VARIABLE.sub(replace, value)


def deployed(env: Mapping[str, str] = DOT_ENV) -> dict[str, Any]:
    return interpolate(COMPOSE, env)


def dot_env(path: Path) -> dict[str, str]:
    """The KEY=value lines of an env file (what compose's env_file reads)."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value
    return pairs


# --- compose.yaml ---------------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification():
    validator = jsonschema.Draft7Validator(SCHEMA)
    for document in (COMPOSE, deployed()):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == []


def test_the_public_address_is_required():
    with pytest.raises(MissingVariable, match=r"set VIDEOCOACH_PUBLIC_URL in docker/\.env"):
        deployed({})


def test_every_service_rotates_its_logs():
    for name, service in SERVICES.items():
        logging = service.get("logging")
        assert logging == COMPOSE["x-logging"], name
    assert COMPOSE["x-logging"] == {
        "driver": "json-file",
        "options": {"max-size": "10m", "max-file": "5"},
    }
    # One anchor, not copies that drift apart.
    assert COMPOSE_TEXT.count("max-size") == 1


def test_every_image_is_pinned():
    for name, service in SERVICES.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"
    # Third-party images at a release (major.minor), upgraded on purpose.
    assert re.fullmatch(r"postgres:16\.\d+", SERVICES["postgres"]["image"])
    assert re.fullmatch(r"redis:\d+\.\d+", SERVICES["redis"]["image"])
    assert re.fullmatch(r"caddy:2\.\d+", SERVICES["proxy"]["image"])
    for name in ("minio", "minio-setup"):
        assert re.fullmatch(r"minio/m(inio|c):RELEASE\.[\dT-]+Z", SERVICES[name]["image"])
    # The app's own image is built here, tagged for this project only.
    assert SERVICES["web"]["image"] == "videocoach:local"


def test_no_secret_is_an_environment_variable():
    secret_names = set(SECRET_SETTINGS) | set(IMAGE_SECRETS)
    defined = COMPOSE["secrets"]
    for name, service in deployed()["services"].items():
        environment = service.get("environment", {})
        leaked = secret_names & set(environment)
        assert not leaked, f"{name} sets {leaked} as variables"
        mounted = set(service.get("secrets", []))
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert value == f"/run/secrets/{secret}", (name, variable)
                assert secret in mounted, f"{name}: {variable} names {secret}, not mounted"
        assert mounted <= set(defined), name
    for secret, definition in defined.items():
        assert definition == {"file": f"./secrets/{secret}"}
    # The app reads each of its secrets from a file.
    environment = SERVICES["web"]["environment"]
    for setting in ("SECRET_KEY", "DATABASE_URL", "SMTP_URL", "AWS_SECRET_ACCESS_KEY"):
        assert environment[f"{setting}_FILE"] == f"/run/secrets/{setting.lower()}"
    assert SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"]


def test_env_example_holds_no_secret_and_no_placeholder():
    example = DOCKER / ".env.example"
    settings = dot_env(example)
    # Redis on the compose network has no password, so its URLs may stay here.
    assert set(settings) & (set(SECRET_SETTINGS) | set(IMAGE_SECRETS)) == {
        "REDIS_URL",
        "CELERY_BROKER_URL",
    }
    assert url_password(settings["REDIS_URL"]) is None
    assert url_password(settings["CELERY_BROKER_URL"]) is None
    assert "change-me" not in example.read_text().lower()
    assert settings["VIDEOCOACH_PUBLIC_URL"].startswith("https://")


def test_only_the_proxy_is_published_and_web_listens_on_the_compose_network():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy"}
    assert SERVICES["proxy"]["ports"] == ["80:80", "443:443", "443:443/udp"]
    environment = SERVICES["web"]["environment"]
    assert environment["GUNICORN_BIND"] == "0.0.0.0:8000"

    # One hop: the proxy, which replaces a client's X-Forwarded-For (test_media_keeps_...),
    # unless docker/.env says otherwise.
    # migrate and worker too, so none warns at start that no proxy is trusted.
    def trusted(env: Mapping[str, str]) -> set[str]:
        services = deployed(env)["services"]
        return {services[name]["environment"]["VIDEOCOACH_TRUSTED_PROXIES"] for name in APP}

    assert trusted(DOT_ENV) == {"1"}
    assert trusted({**DOT_ENV, "VIDEOCOACH_TRUSTED_PROXIES": "10.0.0.5"}) == {"10.0.0.5"}
    # gunicorn believes no forwarded header (gunicorn.conf.py); the app alone decides.
    assert "FORWARDED_ALLOW_IPS" not in environment
    # Only web listens on all addresses; migrate and worker serve nothing.
    for name in ("migrate", "worker"):
        assert "GUNICORN_BIND" not in SERVICES[name]["environment"]
    assert SERVICES["proxy"]["volumes"][0] == "./Caddyfile:/etc/caddy/Caddyfile:ro"


def test_web_is_checked_on_readyz():
    test = SERVICES["web"]["healthcheck"]["test"]
    assert test[0] == "CMD" and "http://127.0.0.1:8000/readyz" in test[-1]


def test_workers_have_a_health_check_and_limits():
    worker = SERVICES["worker"]
    check = worker["healthcheck"]
    command = check["test"][1]
    assert check["test"][0] == "CMD-SHELL"
    assert "inspect ping" in command and "--timeout 5" in command
    assert '"videocoach-[0-9]*@$$HOSTNAME' in command  # the node name, on this container
    assert check["interval"] == "30s" and check["timeout"] == "20s"
    # The node name run_worker gives a worker: what the check looks for.
    assert (
        '--hostname=videocoach-{os.getpid()}@%h"'
        in (ROOT / "workers" / "celery_app.py").read_text()
    )
    limits = deployed()["services"]["worker"]["deploy"]["resources"]["limits"]
    assert limits == {"cpus": "1.5", "memory": "3g"}
    tuned = deployed({**DOT_ENV, "VIDEOCOACH_WORKER_CPUS": "6", "VIDEOCOACH_WORKER_MEMORY": "6g"})
    assert tuned["services"]["worker"]["deploy"]["resources"]["limits"] == {
        "cpus": "6",
        "memory": "6g",
    }


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


WORKER = """
import os, sys
from celery import Celery

app = Celery("health-check-test", broker=sys.argv[1])
app.worker_main(["worker", "--loglevel=WARNING", "--concurrency=1", "--pool=solo",
                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                 f"--hostname=videocoach-{os.getpid()}@{sys.argv[2]}"])
"""


@pytest.mark.slow
def test_the_worker_health_check_answers_for_its_own_worker_only(tmp_path):
    broker = "redis://127.0.0.1:6379/13"
    if not redis_answers(broker):
        pytest.skip("needs the Redis at 127.0.0.1:6379")
    command = interpolate(SERVICES["worker"]["healthcheck"]["test"][1], {})
    # A ping to every node waits out its whole timeout: shorter here, to keep the test quick.
    command = command.replace("--timeout 5", "--timeout 2")
    host = f"container-{os.getpid()}"
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOSTNAME": host}

    def check(**extra: str) -> int:
        return subprocess.run(
            ["/bin/sh", "-c", command], env={**env, **extra}, timeout=60, check=False
        ).returncode

    log = (tmp_path / "worker.log").open("w")
    args = [sys.executable, "-c", WORKER, broker, host]
    with running(args, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path):
        deadline = time.monotonic() + 30
        while check(CELERY_BROKER_URL=broker) != 0:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
        # The broker URL may come from a file as well (CELERY_BROKER_URL_FILE).
        (tmp_path / "broker").write_text(broker)
        assert check(CELERY_BROKER_URL_FILE=str(tmp_path / "broker")) == 0
        # Another container's worker on the same broker does not make this one healthy.
        assert check(CELERY_BROKER_URL=broker, HOSTNAME="another-container") != 0
    assert check(CELERY_BROKER_URL=broker) != 0  # and a stopped worker is unhealthy


# --- the proxy --------------------------------------------------------------------------------

CADDY = shutil.which("caddy")
needs_caddy = pytest.mark.skipif(CADDY is None, reason="caddy is not installed")
CADDYFILE = (DOCKER / "Caddyfile").read_text()


def adapted_caddyfile(env: Mapping[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [CADDY, "adapt", "--config", str(DOCKER / "Caddyfile"), "--validate"],
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "not formatted" not in result.stderr  # `caddy fmt` keeps it readable
    return json.loads(result.stdout)


def route_handlers(route: dict[str, Any]) -> list[dict[str, Any]]:
    """Every handler of a route, through the subroutes `handle` makes."""
    found = []
    for handler in route.get("handle", []):
        found.append(handler)
        for inner in handler.get("routes", []):
            found += route_handlers(inner)
    return found


def site_routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    (server,) = config["apps"]["http"]["servers"].values()
    (site,) = server["routes"]
    (subroute,) = site["handle"]
    return subroute["routes"]


def route_for(config: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    for route in site_routes(config):
        if match in route.get("match", [{}]) or (not match and "match" not in route):
            return route_handlers(route)
    raise AssertionError(f"no route matches {match}")


def test_the_caddyfile_has_the_upload_and_live_event_settings():
    # Read here, without caddy: the routes and settings themselves.
    assert "path /api/v1/uploads /api/v1/uploads/*" in CADDYFILE
    assert "path_regexp ^/api/v1/meetings/[^/]+/events$" in CADDYFILE
    assert "flush_interval -1" in CADDYFILE
    assert "response_header_timeout 30m" in CADDYFILE
    assert CADDYFILE.count("max_size") == 1  # only the catch-all route limits bodies


@needs_caddy
def test_caddy_reads_the_caddyfile_with_those_settings():
    config = adapted_caddyfile({"VIDEOCOACH_PUBLIC_URL": "https://videocoach.example.org"})
    (server,) = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]  # and :80 redirects, Caddy's automatic HTTPS
    assert "read_timeout" not in server and "write_timeout" not in server
    long_wait = 30 * 60 * 10**9
    for match in (
        {"path": ["/api/v1/uploads", "/api/v1/uploads/*"]},
        {"method": ["POST"], "path_regexp": {"pattern": "^/api/v1/partnerships/[^/]+/clips$"}},
    ):
        handlers = route_for(config, **match)
        assert not [h for h in handlers if h["handler"] == "request_body"]
        (proxy,) = [h for h in handlers if h["handler"] == "reverse_proxy"]
        assert proxy["upstreams"] == [{"dial": "web:8000"}]
        assert proxy["transport"]["response_header_timeout"] == long_wait
    (events,) = [
        h
        for h in route_for(config, path_regexp={"pattern": "^/api/v1/meetings/[^/]+/events$"})
        if h["handler"] == "reverse_proxy"
    ]
    assert events["flush_interval"] == -1
    bucket = route_for(config, path=["/videocoach", "/videocoach/*"])
    (to_minio,) = [h for h in bucket if h["handler"] == "reverse_proxy"]
    assert to_minio["upstreams"] == [{"dial": "minio:9000"}]
    assert to_minio["headers"]["request"]["delete"] == ["Cookie"]
    (limit,) = [h for h in route_for(config) if h["handler"] == "request_body"]
    assert limit["max_size"] == 10 * 1000**2


class Upstream(ThreadingHTTPServer):
    """A stand-in for gunicorn (or MinIO) that says what reached it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.release_events = threading.Event()
        self.received: dict[str, int] = {}  # bytes of each request body, by path
        self.paths: list[str] = []  # of every request answered
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class UpstreamHandler(BaseHTTPRequestHandler):
    server: Upstream

    def log_message(self, *args: object) -> None:
        pass

    def _seen(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.server.paths.append(self.path)
        self.send_response(status)
        self.send_header("X-Seen-Forwarded-For", self.headers.get("X-Forwarded-For", ""))
        self.send_header("X-Seen-Cookie", self.headers.get("Cookie", ""))
        self.send_header("X-Seen-Host", self.headers.get("Host", ""))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> int:
        remaining = int(self.headers.get("Content-Length") or 0)
        received = 0
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        self.server.received[self.path] = received
        return received

    def do_GET(self) -> None:
        if self.path.endswith("/events"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"data: first\n\n")
            self.wfile.flush()
            self.server.release_events.wait(10)
            self.wfile.write(b"data: second\n\n")
            return
        if "/media/" in self.path:
            self._seen(
                206,
                b"0123456789",
                Content_Range="bytes 0-9/1000",
                X_Seen_Range=self.headers.get("Range", ""),
            )
            return
        self._seen(200, b"ok")

    def do_PATCH(self) -> None:
        self._seen(204, X_Received=str(self._read_body()))

    def do_POST(self) -> None:
        self._seen(201, X_Received=str(self._read_body()))


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Upstream, Upstream]]:
    """docker/Caddyfile served by caddy on a free port of 127.0.0.1 (plain HTTP, no admin
    endpoint), in front of stand-ins for web and MinIO."""
    if CADDY is None:
        pytest.skip("caddy is not installed")
    web, minio = Upstream(), Upstream()
    port = free_port()
    config = adapted_caddyfile(
        {
            "VIDEOCOACH_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "VIDEOCOACH_WEB": web.address,
            "VIDEOCOACH_MINIO": minio.address,
        }
    )
    config["admin"] = {"disabled": True}
    for server in config["apps"]["http"]["servers"].values():
        server["listen"] = [f"127.0.0.1:{port}"]
    home = tmp_path_factory.mktemp("caddy")
    (home / "caddy.json").write_text(json.dumps(config))
    args = [CADDY, "run", "--config", str(home / "caddy.json")]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    with running(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "caddy did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", web, minio
    web.shutdown()
    minio.shutdown()


UPLOAD_BODY = b"v" * (24 * 1024**2)  # more than twice the limit of other routes


def test_uploads_of_any_size_reach_the_app(proxy):
    base, _, _ = proxy
    tus = requests.patch(f"{base}/api/v1/uploads/u1", data=UPLOAD_BODY, timeout=60)
    assert tus.status_code == 204
    assert tus.headers["X-Received"] == str(len(UPLOAD_BODY))
    multipart = requests.post(f"{base}/api/v1/partnerships/p1/clips", data=UPLOAD_BODY, timeout=60)
    assert multipart.status_code == 201
    assert multipart.headers["X-Received"] == str(len(UPLOAD_BODY))


def caddy_version() -> tuple[int, int]:
    result = subprocess.run([CADDY, "version"], capture_output=True, text=True, check=True)
    major, minor = re.match(r"v?(\d+)\.(\d+)", result.stdout).groups()
    return int(major), int(minor)


def test_other_routes_refuse_a_huge_body(proxy):
    base, web, _ = proxy
    response = requests.post(f"{base}/api/v1/clips/c1/comments", data=UPLOAD_BODY, timeout=60)
    # Caddy before 2.7 (Debian 12's 2.6) answered the refusal as 502; the image's says 413.
    assert response.status_code == (413 if caddy_version() >= (2, 7) else 502)
    deadline = time.monotonic() + 10
    while "/api/v1/clips/c1/comments" not in web.received:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert web.received["/api/v1/clips/c1/comments"] <= 10 * 1000**2
    small = requests.post(f"{base}/api/v1/clips/c1/comments", data=b"{}", timeout=10)
    assert small.status_code == 201


def test_live_events_are_not_held_back(proxy):
    base, web, _ = proxy
    web.release_events.clear()
    started = time.monotonic()
    with requests.get(f"{base}/api/v1/meetings/m1/events", stream=True, timeout=5) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        first = stream.raw.read(len(b"data: first\n\n"))
        # Arrived while the app still holds the stream open (10 s before its next event).
        assert first == b"data: first\n\n" and time.monotonic() - started < 5
        web.release_events.set()


def test_media_keeps_its_range_and_the_client_address_is_the_proxys_own(proxy):
    base, _, _ = proxy
    response = requests.get(
        f"{base}/api/v1/clips/c1/media/video.mp4",
        headers={"Range": "bytes=0-9", "X-Forwarded-For": "203.0.113.66"},
        timeout=10,
    )
    assert response.status_code == 206
    assert response.headers["Content-Range"] == "bytes 0-9/1000"
    assert response.headers["X-Seen-Range"] == "bytes=0-9"
    # A client's own X-Forwarded-For is not believed: the app sees the real address alone.
    assert response.headers["X-Seen-Forwarded-For"] == "127.0.0.1"


def test_the_bucket_path_goes_to_minio_without_the_session_cookie(proxy):
    base, web, minio = proxy
    response = requests.get(
        f"{base}/videocoach/clips/c1/poster.jpg?X-Amz-Signature=abc",
        headers={"Cookie": "session=secret"},
        timeout=10,
    )
    assert response.status_code == 200
    path = "/videocoach/clips/c1/poster.jpg?X-Amz-Signature=abc"
    assert path in minio.paths and path not in web.paths
    assert response.headers["X-Seen-Cookie"] == ""
    assert response.headers["X-Seen-Host"] == base.removeprefix("http://")
    app = requests.get(f"{base}/login", headers={"Cookie": "session=secret"}, timeout=10)
    assert app.headers["X-Seen-Cookie"] == "session=secret"


# --- gunicorn, the image, the build -----------------------------------------------------------


def gunicorn_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("GUNICORN_BIND", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIDEOCOACH_LIVE_STREAMS", "24")  # the file sets it when unset
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DOCKER / "gunicorn.conf.py"))


def test_gunicorn_listens_on_loopback_unless_told_otherwise(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["bind"] == ["127.0.0.1:8000"]
    assert gunicorn_settings(monkeypatch, PORT="9000")["bind"] == ["127.0.0.1:9000"]
    told = gunicorn_settings(monkeypatch, GUNICORN_BIND="0.0.0.0:8000")
    assert told["bind"] == ["0.0.0.0:8000"]
    both = gunicorn_settings(monkeypatch, GUNICORN_BIND="127.0.0.1:8000, [::1]:8000")
    assert both["bind"] == ["127.0.0.1:8000", "[::1]:8000"]


def test_gunicorn_itself_reads_the_default_address():
    result = subprocess.run(
        [str(BIN / "gunicorn"), "-c", str(DOCKER / "gunicorn.conf.py"), "--print-config", "x:y"],
        env={"PATH": f"{BIN}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert re.search(r"^bind\s*=\s*\['127\.0\.0\.1:8000'\]$", result.stdout, re.M), result


def test_gunicorn_believes_no_forwarded_header_whatever_its_own_variable_says():
    result = subprocess.run(
        [str(BIN / "gunicorn"), "-c", str(DOCKER / "gunicorn.conf.py"), "--print-config", "x:y"],
        env={"PATH": f"{BIN}:/usr/bin:/bin", "FORWARDED_ALLOW_IPS": "*"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert re.search(r"^forwarded_allow_ips\s*=\s*\[\]$", result.stdout, re.M), result
    assert re.search(r"^secure_scheme_headers\s*=\s*\{\}$", result.stdout, re.M), result


@pytest.mark.parametrize(
    ("trusted", "client"),
    [
        ("", "127.0.0.1"),  # straight to the app: the forged header changes nothing
        ("127.0.0.1", "203.0.113.9"),  # behind a proxy on this machine
    ],
)
def test_the_access_log_names_the_client_and_the_peer(tmp_path, trusted, client):
    """gunicorn with the image's settings and production's, the finding's setup: before,
    the log showed the forged address alone (twice: raw, then as ProxyFix took it)."""
    redis = "redis://127.0.0.1:6379/15"
    if not redis_answers(redis):
        pytest.skip("needs the Redis at 127.0.0.1:6379")
    port = free_port()
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "VIDEOCOACH_ENV": "production",
        "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": secrets.token_urlsafe(48),
        # Never connected to by /healthz; production only refuses SQLite.
        "DATABASE_URL": "postgresql://videocoach@127.0.0.1:5432/test",
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "VIDEOCOACH_TRUSTED_PROXIES": trusted,
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "PORT": str(port),
    }
    args = [str(BIN / "gunicorn"), "-c", str(DOCKER / "gunicorn.conf.py"), "videocoach.wsgi:app"]
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log, running(args, env=env, stdout=log, stderr=subprocess.STDOUT):
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(
                    f"http://127.0.0.1:{port}/healthz",
                    headers={"X-Forwarded-For": "203.0.113.9"},
                    timeout=5,
                )
                break
            except requests.RequestException:  # not listening yet, or the worker still booting
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        assert response.status_code == 200
        while "GET /healthz" not in log_path.read_text():
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
    line = next(line for line in log_path.read_text().splitlines() if "GET /healthz" in line)
    # Production logs JSON lines: the access line's text, and its parts as fields.
    access = json.loads(line)
    assert access["message"].startswith(f"client={client} peer=127.0.0.1 ["), line
    assert (access["client_address"], access["peer_address"]) == (client, "127.0.0.1")


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONSTRAINTS = {
    canonicalize_name(name): version
    for name, version in re.findall(
        r"^([A-Za-z0-9._-]+)==(\S+)$", (DOCKER / "constraints.txt").read_text(), re.M
    )
}


def test_the_image_installs_the_exact_versions_of_the_constraints_file():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "COPY docker/constraints.txt ./constraints.txt" in dockerfile
    assert "pip install --constraint constraints.txt hatchling" in dockerfile
    assert (
        "pip wheel --no-build-isolation --constraint constraints.txt --wheel-dir /wheels ."
        in dockerfile
    )
    assert "pip install --no-index --find-links=/wheels videocoach" in dockerfile
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+$", dockerfile, re.M)


def test_the_constraints_pin_every_dependency_within_pyproject():
    lines = (DOCKER / "constraints.txt").read_text().splitlines()
    assert lines[1] == "# Generated by `make constraints` from pyproject.toml; do not edit by hand."
    assert all(line.startswith("#") or "==" in line for line in lines)
    requirements = [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
    requirements.append(Requirement(PYPROJECT["build-system"]["requires"][0]))
    for requirement in requirements:
        version = CONSTRAINTS[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version), (requirement, version)
    assert "videocoach" not in CONSTRAINTS


def test_every_dependency_has_an_upper_bound():
    project = PYPROJECT["project"]
    every = [*project["dependencies"], *PYPROJECT["build-system"]["requires"]]
    for extra in project["optional-dependencies"].values():
        every += extra
    unbounded = [
        text
        for text in every
        if not any(spec.operator in ("<", "<=", "==", "~=") for spec in Requirement(text).specifier)
    ]
    assert unbounded == []


def test_the_make_target_regenerates_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nconstraints:\n" in makefile
    assert "pip freeze --exclude videocoach; } > $(CONSTRAINTS)" in makefile


def test_secrets_stay_out_of_git_and_out_of_the_image():
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    assert "docker/secrets" in ignored and "docker/.env" in ignored
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert "docker/secrets/" in gitignore and "docker/.env" in gitignore


# --- the secrets generator ------------------------------------------------------------------


def test_generated_secrets_start_production_with_the_compose_settings(tmp_path):
    secrets_dir = tmp_path / "secrets"
    subprocess.run([str(DOCKER / "init-secrets"), str(secrets_dir)], check=True, timeout=30)
    assert sorted(path.name for path in secrets_dir.iterdir()) == sorted(COMPOSE["secrets"])
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    for path in secrets_dir.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644
    password = (secrets_dir / "postgres_password").read_text().strip()
    assert (secrets_dir / "database_url").read_text().strip() == (
        f"postgresql://videocoach:{password}@postgres:5432/videocoach"
    )
    # What web gets: .env.example's settings, compose.yaml's, and the secrets as files.
    environment = {
        **dot_env(DOCKER / ".env.example"),
        **deployed()["services"]["web"]["environment"],
        "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"),
    }
    for name, value in list(environment.items()):
        if value.startswith("/run/secrets/"):
            environment[name] = str(secrets_dir / value.removeprefix("/run/secrets/"))
    settings = Settings.from_env(environment)  # production refuses nothing
    assert settings.production and settings.smtp_url is None
    assert settings.trusted_proxies.hops == 1  # the proxy service, by count
    assert settings.database_url.startswith("postgresql+psycopg://videocoach:")
    # Run again: nothing is replaced.
    before = {path.name: path.read_text() for path in secrets_dir.iterdir()}
    subprocess.run([str(DOCKER / "init-secrets"), str(secrets_dir)], check=True, timeout=30)
    assert {path.name: path.read_text() for path in secrets_dir.iterdir()} == before


def test_an_old_env_file_with_secrets_is_refused_with_a_sentence(tmp_path):
    secrets_dir = tmp_path / "secrets"
    subprocess.run([str(DOCKER / "init-secrets"), str(secrets_dir)], check=True, timeout=30)
    environment = {
        **dot_env(DOCKER / ".env.example"),
        # docker/.env from before the secrets moved into files
        "SECRET_KEY": "CHANGE-ME-generate-a-random-value-of-at-least-32-characters",
        **deployed()["services"]["web"]["environment"],
        "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"),
    }
    for name, value in list(environment.items()):
        if value.startswith("/run/secrets/"):
            environment[name] = str(secrets_dir / value.removeprefix("/run/secrets/"))
    with pytest.raises(Exception, match="SECRET_KEY and SECRET_KEY_FILE are both set"):
        Settings.from_env(environment)
