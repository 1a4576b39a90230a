"""Who the client is: which peers are proxies whose X-Forwarded-* headers are believed.

VIDEOCOACH_TRUSTED_PROXIES says it (docs/configuration.md, "Behind a proxy"):
- empty (the default): no proxy. The peer is the client and X-Forwarded-* are ignored, so
  a client that reaches the app directly cannot claim another address per request.
- a number N: exactly N proxies stand in front, and nothing else can reach the app. The
  client is the Nth address from the right of X-Forwarded-For.
- addresses and networks, comma-separated (127.0.0.1, 10.0.0.0/8): headers are believed
  only from a peer among them. X-Forwarded-For is walked from the right past trusted
  addresses; the first other one is the client. What a client wrote further left (a
  forged header it sent to the proxy) is never read.
Either way the scheme and host are the ones the proxy nearest the client reported.

The middleware puts the client in REMOTE_ADDR, where request.remote_addr, the rate limits,
the sessions list and gunicorn's access log (%(h)s) read it, and keeps the peer (the TCP
connection's own address) in environ[PEER_ADDR] for the access log.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.http import parse_list_header

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PEER_ADDR = "videocoach.peer_addr"
SCHEMES = frozenset({"http", "https"})

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class TrustedProxies:
    """The parsed setting: a count of hops, or the proxies' networks, or neither (no proxy)."""

    hops: int = 0
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, raw: str | None) -> TrustedProxies:
        """Raises ValueError with a sentence for the operator when `raw` is none of the forms."""
        text = (raw or "").strip()
        if not text:
            return cls()
        if text.isascii() and text.isdigit():
            return cls(hops=int(text))
        networks, unreadable = [], []
        for part in (part.strip() for part in text.split(",")):
            if not part:
                continue
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                unreadable.append(part)
        if unreadable or not networks:
            shown = ", ".join(repr(part) for part in unreadable) or repr(text)
            raise ValueError(
                "VIDEOCOACH_TRUSTED_PROXIES must be empty (no proxy), a number of proxies in "
                "front of the app (1), or the proxies' IP addresses and networks separated "
                f"by commas (127.0.0.1, 10.0.0.0/8; not host names): {shown} is none of these."
            )
        return cls(networks=tuple(networks))

    @property
    def trusts_nobody(self) -> bool:
        return not (self.hops or self.networks)

    def trusts(self, address: str | None) -> bool:
        """`address` is in one of the trusted networks (a count of hops names none)."""
        ip = parse_address(address)
        return ip is not None and any(ip in network for network in self.networks)


def parse_address(value: str | None) -> IPAddress | None:
    """An IP address as proxies and servers write it (with or without a port; IPv6 in
    brackets; IPv4 mapped into IPv6 by a dual-stack socket), or None if it is not one."""
    text = (value or "").strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def resolve_client(
    trusted: TrustedProxies, peer: str | None, forwarded_for: list[str]
) -> tuple[str | None, int]:
    """The client's address, and how many trusted proxies passed the request on: 0 when
    their headers are not believed (the peer is no trusted proxy, so it is the client)."""
    if trusted.hops:
        if len(forwarded_for) < trusted.hops:
            return peer, 0  # fewer proxies than there should be wrote: believe none
        ip = parse_address(forwarded_for[-trusted.hops])
        return (str(ip), trusted.hops) if ip else (peer, 0)
    if not trusted.trusts(peer):
        return peer, 0
    chain = [peer]  # nearest first: the peer, then what each trusted proxy saw
    for entry in reversed(forwarded_for):
        ip = parse_address(entry)
        if ip is None:
            # A trusted proxy wrote something that is not an address ("unknown"): the
            # client cannot be told, so the proxy that said so stands in for it.
            break
        chain.append(str(ip))
        if not trusted.trusts(chain[-1]):
            break
    # Past the loop without an untrusted entry, the farthest trusted machine is the client
    # (a computer on the proxy's own network, or the proxy itself for its health check).
    return chain[-1], max(1, len(chain) - 1)


def _nearest_client_value(header: str | None, proxies: int) -> str | None:
    """Of a list header the proxies append to (or replace), the value the proxy nearest
    the client wrote: one per proxy from the right, or the leftmost if some replaced it."""
    values = parse_list_header(header or "")
    if not values:
        return None
    return values[-min(proxies, len(values))]


class ProxyHeaders:
    """WSGI middleware: the client from X-Forwarded-For, and the scheme and host from
    X-Forwarded-Proto and -Host, only as far as VIDEOCOACH_TRUSTED_PROXIES allows."""

    def __init__(self, app: WSGIApplication, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR")
        environ[PEER_ADDR] = peer
        if not self.trusted.trusts_nobody:
            forwarded_for = parse_list_header(environ.get("HTTP_X_FORWARDED_FOR") or "")
            client, proxies = resolve_client(self.trusted, peer, forwarded_for)
            if proxies:
                environ["REMOTE_ADDR"] = client
                _believe_scheme_and_host(environ, proxies)
        return self.app(environ, start_response)


def _believe_scheme_and_host(environ: WSGIEnvironment, proxies: int) -> None:
    scheme = _nearest_client_value(environ.get("HTTP_X_FORWARDED_PROTO"), proxies)
    if scheme and scheme.lower() in SCHEMES:
        environ["wsgi.url_scheme"] = scheme.lower()
    host = _nearest_client_value(environ.get("HTTP_X_FORWARDED_HOST"), proxies)
    if host:
        environ["HTTP_HOST"] = environ["SERVER_NAME"] = host
        # "]": an IPv6 address without a port (as in werkzeug's ProxyFix)
        if ":" in host and not host.endswith("]"):
            environ["SERVER_NAME"], environ["SERVER_PORT"] = host.rsplit(":", 1)
