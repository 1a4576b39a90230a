"""Who the client is (videocoach.proxies): X-Forwarded-* believed from trusted proxies only,
in every form VIDEOCOACH_TRUSTED_PROXIES takes, through the app's real middleware."""

from __future__ import annotations

import pytest
from flask import Flask, request
from werkzeug.test import Client

from videocoach.proxies import (
    PEER_ADDR,
    ProxyHeaders,
    TrustedProxies,
    parse_address,
    resolve_client,
)


def seen_by_an_app(trusted: str, peer: str, **headers: str) -> dict[str, str]:
    """What a Flask app behind ProxyHeaders sees of one request from `peer`."""
    app = Flask(__name__)

    @app.get("/")
    def whoami() -> dict[str, str]:
        return {
            "client": request.remote_addr or "",
            "peer": request.environ[PEER_ADDR],
            "scheme": request.scheme,
            "host": request.host,
        }

    app.wsgi_app = ProxyHeaders(app.wsgi_app, TrustedProxies.parse(trusted))  # type: ignore[method-assign]
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    response = Client(app).get(
        "/", headers=headers, environ_base={"REMOTE_ADDR": peer}, base_url="http://app.internal"
    )
    return response.json


FORWARDED = {
    "X_Forwarded_For": "203.0.113.9",
    "X_Forwarded_Proto": "https",
    "X_Forwarded_Host": "videocoach.example.org",
}


@pytest.mark.parametrize("trusted", ["", "0"])
def test_without_trusted_proxies_the_peer_is_the_client_and_headers_are_ignored(trusted):
    seen = seen_by_an_app(trusted, "192.0.2.7", **FORWARDED)
    assert seen == {
        "client": "192.0.2.7",
        "peer": "192.0.2.7",
        "scheme": "http",
        "host": "app.internal",
    }


def test_a_trusted_proxy_is_believed_and_the_peer_kept():
    seen = seen_by_an_app("127.0.0.1, 10.0.0.0/8", "10.1.2.3", **FORWARDED)
    assert seen == {
        "client": "203.0.113.9",
        "peer": "10.1.2.3",
        "scheme": "https",
        "host": "videocoach.example.org",
    }


def test_a_peer_outside_the_trusted_networks_is_the_client_whatever_it_sends():
    seen = seen_by_an_app("10.0.0.0/8", "192.0.2.7", **FORWARDED)
    assert seen["client"] == "192.0.2.7" and seen["scheme"] == "http"
    assert seen["host"] == "app.internal"


def test_a_count_believes_that_many_hops_from_the_right():
    seen = seen_by_an_app(
        "2",
        "10.0.0.2",
        X_Forwarded_For="198.51.100.1, 203.0.113.9, 10.0.0.1",
        X_Forwarded_Proto="https, http",
    )
    assert seen["client"] == "203.0.113.9" and seen["peer"] == "10.0.0.2"
    assert seen["scheme"] == "https"


def test_a_count_takes_the_scheme_a_proxy_passed_on_unchanged():
    # Caddy, like nginx's `proxy_set_header`, replaces X-Forwarded-Proto: behind a load
    # balancer it passes the balancer's one on, so two proxies leave one value.
    seen = seen_by_an_app(
        "2", "10.0.0.2", X_Forwarded_For="203.0.113.9, 10.0.0.1", X_Forwarded_Proto="https"
    )
    assert seen["client"] == "203.0.113.9" and seen["scheme"] == "https"


def test_a_count_believes_nothing_from_fewer_proxies_than_it_names():
    seen = seen_by_an_app("2", "10.0.0.2", **FORWARDED)
    assert seen == {
        "client": "10.0.0.2",
        "peer": "10.0.0.2",
        "scheme": "http",
        "host": "app.internal",
    }


def test_the_scheme_is_the_one_the_proxy_nearest_the_client_saw():
    # Two trusted proxies; the inner one kept the outer one's X-Forwarded-Proto (Caddy does).
    seen = seen_by_an_app(
        "10.0.0.0/8", "10.0.0.2", X_Forwarded_For="203.0.113.9, 10.0.0.1", X_Forwarded_Proto="https"
    )
    assert seen["client"] == "203.0.113.9" and seen["scheme"] == "https"
    # A client's own X-Forwarded-Proto in front of the proxies' is not read.
    forged = seen_by_an_app(
        "10.0.0.0/8", "10.0.0.2", X_Forwarded_For="203.0.113.9", X_Forwarded_Proto="https, http"
    )
    assert forged["scheme"] == "http"


def test_an_ipv4_peer_on_a_dual_stack_socket_is_trusted_by_its_ipv4_network():
    seen = seen_by_an_app("10.0.0.0/8", "::ffff:10.0.0.5", X_Forwarded_For="[2001:db8::9]:443")
    assert seen["client"] == "2001:db8::9"


NETWORKS = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")


@pytest.mark.parametrize(
    ("forwarded_for", "client", "proxies"),
    [
        ([], "10.0.0.1", 1),  # the proxy's own request (a health check)
        (["198.51.100.4", "203.0.113.9"], "203.0.113.9", 1),  # the left one was forged
        (["203.0.113.9", "10.0.0.3"], "203.0.113.9", 2),
        (["203.0.113.9:51234"], "203.0.113.9", 1),
        (["10.0.0.7", "10.0.0.3"], "10.0.0.7", 2),  # a machine on the proxies' network
        (["203.0.113.9", "unknown", "10.0.0.3"], "10.0.0.3", 1),  # the proxy stands in
    ],
)
def test_x_forwarded_for_is_walked_from_the_right_past_trusted_addresses(
    forwarded_for, client, proxies
):
    assert resolve_client(NETWORKS, "10.0.0.1", forwarded_for) == (client, proxies)


def test_a_peer_that_is_no_trusted_proxy_is_the_client():
    assert resolve_client(NETWORKS, "192.0.2.7", ["203.0.113.9"]) == ("192.0.2.7", 0)


def test_addresses_are_read_as_proxies_write_them():
    assert str(parse_address("203.0.113.9:8080")) == "203.0.113.9"
    assert str(parse_address("[2001:db8::1]:443")) == "2001:db8::1"
    assert str(parse_address("2001:db8::1")) == "2001:db8::1"
    assert str(parse_address("::ffff:192.0.2.1")) == "192.0.2.1"
    assert parse_address("unknown") is None
    assert parse_address("") is None
