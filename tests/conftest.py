"""Fixtures: the app on SQLite and on PostgreSQL, clients, users, an API helper.

Every test that uses `app` runs twice, once per database. Each database is
migrated once per run; after each test every table is emptied, which isolates
tests even when the code under test commits (and, later, when a live server
or a worker in another thread writes to the database).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from moto.server import ThreadedMotoServer

from videocoach import create_app, db
from videocoach.accounts import services as account_services
from videocoach.accounts.models import User, UserSession
from videocoach.migrate import upgrade
from videocoach.models import Base
from videocoach.observability import metrics

PASSWORD = "correct horse battery staple"
POSTGRES_URL = os.environ.get(
    "VIDEOCOACH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]
BUCKET = "videocoach-test"


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> None:
    # Still argon2id, with the cheapest parameters: hashing cost is not under test here.
    account_services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.OperationalError as error:
        return str(error).splitlines()[0]
    return None


def new_postgres_schema() -> tuple[str, str]:
    """A schema of our own in the shared `test` database: parallel runs never collide."""
    problem = _postgres_problem()
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {problem}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message + " (CI=true: PostgreSQL is required)")
        pytest.skip(message)
    schema = f"vc_test_{secrets.token_hex(6)}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema, f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def drop_postgres_schema(schema: str) -> None:
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@contextmanager
def fresh_database(backend: str, sqlite_file: Path) -> Iterator[str]:
    """The URL of a fresh database of `backend`: the SQLite file `sqlite_file`, or a PostgreSQL
    schema of its own that is dropped when the block ends."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    schema, url = new_postgres_schema()
    try:
        yield url
    finally:
        drop_postgres_schema(schema)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    sqlite_file = tmp_path_factory.mktemp("sqlite") / "videocoach.sqlite3"
    with fresh_database(request.param, sqlite_file) as url:
        yield url


# One metrics folder for every app this test process makes: a process records into the
# first folder it is given (videocoach.observability.metrics), so it is given this one
# before any test makes an app of its own, and /metrics of every app_config reads it.
METRICS_DIR = Path(tempfile.mkdtemp(prefix="videocoach-test-metrics-"))
metrics.start_recording(METRICS_DIR)


def app_config(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    config = {
        "VIDEOCOACH_METRICS_DIR": str(METRICS_DIR),
        "DATABASE_URL": database_url,
        "VIDEOCOACH_DATA_DIR": str(data_dir),
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "VIDEOCOACH_LOGIN_RATE_LIMIT": "1000 per minute",
        "VIDEOCOACH_SIGNUP": "open",
        "VIDEOCOACH_SIGNUP_DOMAINS": "",
        "SMTP_URL": "",
        "VIDEOCOACH_PUBLIC_URL": "",
        "VIDEOCOACH_ENV": "",
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def migrated_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = create_app(app_config(database_url, tmp_path_factory.mktemp("data")))
    upgrade(app)
    return app


def empty_all_tables(app: Flask, attempts: int = 5) -> None:
    """A browser may still have a request in flight (an image, a redirect's page) when its
    test ends; PostgreSQL can then pick the TRUNCATE as a deadlock victim. That request
    ends within moments, so try again."""
    engine = app.extensions["videocoach.engine"]
    tables = list(reversed(Base.metadata.sorted_tables))
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    names = ", ".join(f'"{table.name}"' for table in tables)
                    connection.execute(sa.text(f"TRUNCATE {names} CASCADE"))
                else:
                    for table in tables:
                        connection.execute(table.delete())
            return
        except sa.exc.OperationalError:
            if attempt == attempts:
                raise
            time.sleep(0.5)


@pytest.fixture
def make_app(
    database_url: str, tmp_path: Path, migrated_app: Flask
) -> Iterator[Callable[..., Flask]]:
    """An app on the test database with some settings changed (e.g. sign-up closed). Its
    connections are closed after the test: apps left to the garbage collector each kept
    theirs open, and a full run ran PostgreSQL out of connections ("too many clients")."""
    made: list[Flask] = []

    def factory(**overrides: str) -> Flask:
        made.append(create_app(app_config(database_url, tmp_path / "data", **overrides)))
        return made[-1]

    yield factory
    for made_app in made:
        made_app.extensions["videocoach.engine"].dispose()


@pytest.fixture
def app(migrated_app: Flask) -> Iterator[Flask]:
    from videocoach.extensions import limiter

    limiter.reset()
    # No app context is held during the test: each request must get its own, exactly
    # as in production (a shared one would leak `g`, and the signed-in user, across requests).
    yield migrated_app
    empty_all_tables(migrated_app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def factory(name: str | None = None, email: str | None = None, admin: bool = False) -> User:
        n = next(counter)
        with app.app_context():
            user = account_services.create_user(
                email or f"person{n}-{secrets.token_hex(3)}@school.example",
                PASSWORD,
                name or f"Person {n}",
                is_admin=admin,
            )
            db.session.commit()
        return user

    return factory


class Api:
    """A JSON client that carries a bearer token."""

    def __init__(self, client: FlaskClient, token: str | None = None):
        self.client = client
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, json: Any = None, **kwargs: Any):
        return self.client.open(path, method=method, json=json, headers=self._headers(), **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any):
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api_for(app: Flask) -> Callable[[User | None], Api]:
    """An API client authenticated as `user` (anonymous for None)."""

    def factory(user: User | None) -> Api:
        token = None
        if user is not None:
            with app.app_context():
                token, _ = account_services.issue_token(user, "tests")
                db.session.commit()
        return Api(app.test_client(), token)

    return factory


@pytest.fixture
def browser_for(app: Flask) -> Callable[[User | None], FlaskClient]:
    """A page client with a signed-in session for `user` (anonymous for None)."""

    def factory(user: User | None) -> FlaskClient:
        client = app.test_client()
        if user is not None:
            sign_in_as(client, user.id)
        return client

    return factory


def sign_in_as(client: FlaskClient, user_id: str, *, remember: bool = False) -> str:
    """Give `client` a live sign-in for this user, as the sign-in page would (a sign-in row
    whose id is in the session cookie), without a form round trip. Returns its id."""
    with client.application.app_context():
        row = UserSession(user_id=user_id, remember=remember, user_agent="pytest")
        db.session.add(row)
        db.session.commit()
        session_id = row.id
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return session_id


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str = "/login") -> str:
    """The CSRF token of this client's session, read from a rendered form."""
    response = client.get(page)
    if response.status_code == 302:  # signed in: /login redirects, any page has the token
        response = client.get("/account")
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, str] | None = None, **kwargs: Any):
    """Submit a page form the way a browser does, CSRF token included."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def post_login(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs: Any):
    """Submit the sign-in form as a browser does (CSRF token included)."""
    return post_form(client, "/login", {"email": email, "password": password}, **kwargs)


def error_next_to(html: str, name: str) -> str:
    """The error shown inside the same form-field block as the input called `name` ("" if none)."""
    for block in html.split('<div class="field')[1:]:
        block = block.split("</div>")[0]
        if f'name="{name}"' in block:
            match = re.search(r'<p class="error" id="[^"]*">([^<]*)</p>', block)
            return unescape(match.group(1)) if match else ""
    raise AssertionError(f"no field named {name!r} on the page")


@contextmanager
def serving(app: Flask, server: str = "werkzeug") -> Iterator[str]:
    """`app` over real HTTP (threaded, streaming bodies) on a free port; `server="cheroot"`
    uses the embedded production server instead of werkzeug's."""
    if server == "cheroot":
        from cheroot.wsgi import Server

        cheroot = Server(("127.0.0.1", 0), app, numthreads=4)
        cheroot.prepare()
        thread = threading.Thread(target=cheroot.serve, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{cheroot.bind_addr[1]}"
        finally:
            app.extensions["videocoach.live"].hub.shut_down()  # as serve_app does
            cheroot.stop()
            thread.join(timeout=10)
        return
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        app.extensions["videocoach.live"].hub.shut_down()
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app served over real HTTP."""
    with serving(app) as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto) with the bucket BUCKET."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        # Nothing from the developer's own AWS setup may leak into the tests.
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        try:
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
            yield endpoint
        finally:
            server.stop()


@pytest.fixture(scope="session")
def media_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny clips in every input format, plus bad files, generated with ffmpeg lavfi."""
    from tests.media.samples import make_media_samples

    return make_media_samples(tmp_path_factory.mktemp("media-samples"))


@pytest.fixture
def eager_app(app: Flask, make_app) -> Flask:
    """An app whose background jobs run inline, inside the request that queues them
    (`app` empties the tables afterwards)."""
    return make_app(VIDEOCOACH_TASKS_EAGER="1")


@pytest.fixture
def studio(eager_app: Flask, make_user):
    from tests.studio import make_studio

    return make_studio(eager_app, make_user)


@pytest.fixture
def pair(app: Flask, make_user):
    """A teacher + coach partnership (and an outsider) with API tokens; jobs are not run."""
    from tests.studio import make_studio

    return make_studio(app, make_user)


def same_answer(body: dict) -> dict:
    """An answer's body without its request id, which differs for every request."""
    if isinstance(body.get("error"), dict):
        return {**body, "error": {k: v for k, v in body["error"].items() if k != "request_id"}}
    return body
