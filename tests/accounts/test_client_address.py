"""Sign-in rate limits count per client: the peer itself unless it is a trusted proxy
(VIDEOCOACH_TRUSTED_PROXIES), so X-Forwarded-For sent straight to the app changes nothing."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from videocoach.extensions import limiter

BAD_LOGIN = {"email": "ben@school.example", "password": "not the password"}


def random_address() -> str:
    """An address of its own, so counters in a shared Redis never meet another test's."""
    return "10." + ".".join(str(byte) for byte in secrets.token_bytes(3))


def bad_logins(client: FlaskClient, forwarded_for: list[str], peer: str) -> list[int]:
    return [
        client.post(
            "/api/v1/auth/tokens",
            json=BAD_LOGIN,
            headers={"X-Forwarded-For": address},
            environ_base={"REMOTE_ADDR": peer},
        ).status_code
        for address in forwarded_for
    ]


@pytest.fixture
def production_app(database_url, make_app, migrated_app) -> Iterator[Flask]:
    """The app as docker/compose.yaml runs it, less the proxy: production settings, Redis."""
    if not database_url.startswith("postgresql"):
        pytest.skip("production mode requires PostgreSQL")
    production = make_app(
        VIDEOCOACH_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(36),
        REDIS_URL="redis://127.0.0.1:6379/15",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
        VIDEOCOACH_LOGIN_RATE_LIMIT="10 per minute",
    )
    try:
        yield production
    finally:
        production.extensions["videocoach.engine"].dispose()
        limiter.reset()
        limiter.init_app(migrated_app)  # the limiter is global: give it back its memory storage


def test_a_new_forwarded_for_per_request_straight_to_the_app_is_still_limited(production_app):
    # The finding: twelve bad sign-ins, each claiming another client, were twelve 401s.
    forged = [f"203.0.113.{n}" for n in range(1, 13)]
    statuses = bad_logins(production_app.test_client(), forged, peer=random_address())
    assert statuses == [401] * 10 + [429] * 2


def test_two_clients_behind_a_trusted_proxy_are_limited_apart(make_app, make_user):
    make_user(email="ben@school.example")
    proxy = random_address()
    app = make_app(
        VIDEOCOACH_LOGIN_RATE_LIMIT="3 per minute",
        VIDEOCOACH_TRUSTED_PROXIES=f"127.0.0.1, {proxy}",
    )
    client = app.test_client()
    ana, ben = random_address(), random_address()
    assert bad_logins(client, [ana] * 4, peer=proxy) == [401, 401, 401, 429]
    assert bad_logins(client, [ben], peer=proxy) == [401]
    # What a client puts in front of the proxy's entry is not believed: still Ana's limit.
    assert bad_logins(client, [f"{ben}, {ana}"], peer=proxy) == [429]


def test_a_count_of_trusted_hops_takes_the_client_that_many_from_the_right(make_app, make_user):
    make_user(email="ben@school.example")
    app = make_app(VIDEOCOACH_LOGIN_RATE_LIMIT="3 per minute", VIDEOCOACH_TRUSTED_PROXIES="2")
    client = app.test_client()
    ana, ben, edge, inner = random_address(), random_address(), random_address(), random_address()
    # Each request names a new (forged) first client; the edge proxy's entry is Ana's.
    chains = [f"203.0.113.{n}, {ana}, {edge}" for n in range(4)]
    assert bad_logins(client, chains, peer=inner) == [401, 401, 401, 429]
    assert bad_logins(client, [f"{ana}, {ben}, {edge}"], peer=inner) == [401]


def test_production_without_trusted_proxies_warns_that_clients_share_the_proxys_limit(
    database_url, make_app, migrated_app, caplog
):
    if not database_url.startswith("postgresql"):
        pytest.skip("production mode requires PostgreSQL")
    production = {
        "VIDEOCOACH_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(36),
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
    }
    apps = []
    try:
        with caplog.at_level(logging.WARNING, logger="videocoach.app"):
            apps.append(make_app(**production))
            warned = [r.getMessage() for r in caplog.records]
            caplog.clear()
            apps.append(make_app(**production, VIDEOCOACH_TRUSTED_PROXIES="127.0.0.1"))
        assert any("VIDEOCOACH_TRUSTED_PROXIES names no proxy" in message for message in warned)
        assert not any("VIDEOCOACH_TRUSTED_PROXIES" in r.getMessage() for r in caplog.records)
    finally:
        for app in apps:
            app.extensions["videocoach.engine"].dispose()
        limiter.reset()
        limiter.init_app(migrated_app)
