"""Where webhooks may go: never the hub's own network (server-side request forgery).

A URL is checked when an endpoint is registered and again before each send, but a
check that resolves the host name is not enough on its own: the name can resolve to a
public address for the check and to an internal one a moment later, when the HTTP
client resolves it again to connect (DNS rebinding). So the delivery clients'
connections (``PinnedTransport``) resolve the name once, refuse internal addresses,
and connect to the address they vetted. TLS still verifies the certificate against
the host name.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import urllib.request
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings


class ForbiddenDestination(ValueError):
    """The URL points at the hub's own network (server-side request forgery)."""


def private_destinations_allowed() -> bool:
    return bool(getattr(settings, "HUB_WEBHOOKS_ALLOW_PRIVATE", settings.DEBUG))


# Not globally reachable although Python 3.11's ``ipaddress`` calls them global: the
# local-use NAT64 prefix (RFC 8215) translates to whatever IPv4 network its operator
# chose, so the IPv4 address it carries cannot be located reliably, and it is not
# routed on the internet (IANA special-purpose registry: "Globally Reachable: False").
_NOT_GLOBAL = (ipaddress.ip_network("64:ff9b:1::/48"),)
# The well-known NAT64 prefix (RFC 6052) carries the IPv4 address in its last 32 bits.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: IPv4-mapped (::ffff:a.b.c.d),
    6to4 (2002::/16, the relay forwards to the embedded gateway), Teredo (2001::/32:
    server and client) and NAT64 (64:ff9b::/96, the translator connects to the IPv4)."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _internal(address: str) -> bool:
    """Anything but a globally routable unicast address is internal, in whatever form.

    "Private" is not the test: 100.64.0.0/10 (shared address space, where cloud
    metadata services such as 100.100.100.200 live) is neither private nor global, and
    an internal IPv4 address wrapped in an IPv6 form (6to4, Teredo, NAT64, mapped) looks
    global to a check that does not unwrap it."""
    ip = ipaddress.ip_address(address.split("%")[0])
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _NOT_GLOBAL):
            return True
        candidates += _embedded_ipv4(ip)
    return any(not candidate.is_global or candidate.is_multicast for candidate in candidates)


def vetted_address(host: str, port: int) -> str:
    """The address to connect to for ``host``; refused if any address it resolves to
    is internal (a name with one internal address among public ones is refused too)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ForbiddenDestination(f"cannot resolve {host}") from exc
    addresses = [info[4][0] for info in infos]
    if not addresses or any(_internal(address) for address in addresses):
        raise ForbiddenDestination(f"{host} resolves to an internal address")
    return addresses[0]


def check_destination(url: str) -> None:
    """Refuse non-http(s) URLs and hosts that resolve to internal addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForbiddenDestination("webhook URLs must be http(s) with a host")
    if not private_destinations_allowed():
        vetted_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


class _PinnedNetworkBackend(httpcore.SyncBackend):
    """Connect to the address vetted at connect time, not to a second resolution.

    httpcore hands ``connect_tcp`` the URL's host name; only the socket is pointed at
    the vetted address. TLS is started afterwards with the name as SNI and as the name
    the certificate must match (the SSL context checks the host name), and the Host
    header is the URL's, so only the TCP connection uses the address. Each new
    connection resolves and vets afresh; kept-alive connections are reused as they are.
    """

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if not private_destinations_allowed():
            host = vetted_address(host, port)
        return super().connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every destination: verifies the certificate chain against
    the CA bundle httpx uses and the host name (``check_hostname``). Loading the bundle
    takes tens of milliseconds, too long to repeat for each of fifty agencies."""
    context = httpx.create_ssl_context(verify=True)  # honours SSL_CERT_FILE, SSL_CERT_DIR
    if not (context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED):
        raise RuntimeError("webhook TLS must verify the certificate and the host name")
    return context


class PinnedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go only to vetted addresses.

    httpx offers no way to hand its connection pool a network backend, so the pool it
    built is given ours before any connection exists (tests/hub/test_webhooks.py's
    rebinding and pinning tests fail if a new httpx stops using it)."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, verify=tls_context(), trust_env=False)
        if not isinstance(self._pool, httpcore.ConnectionPool):
            raise TypeError("expected httpx to build an httpcore.ConnectionPool")
        self._pool._network_backend = _PinnedNetworkBackend()


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTPS_PROXY, NO_PROXY, ...), if any.

    Through a proxy the proxy resolves the name, so only the check before sending
    applies there; every other destination gets a ``PinnedTransport``."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy
