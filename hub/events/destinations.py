"""Where webhooks may go: never the hub's own network (server-side request forgery).

A URL is checked when an endpoint is registered and again before each send, but a
check that resolves the host name is not enough on its own: the name can resolve to a
public address for the check and to an internal one a moment later, when the HTTP
client resolves it again to connect (DNS rebinding). So the delivery session's
connections resolve the name once, refuse internal addresses, and connect to the
address they vetted. TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


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


class _PinnedConnectionMixin:
    """Connect to the address vetted at connect time, not to a second resolution."""

    def _new_conn(self):
        if private_destinations_allowed():
            return super()._new_conn()
        # urllib3 connects to ``_dns_host``, which is also what ``host`` reads: it holds
        # the vetted address only while connecting, so TLS (SNI, the certificate check)
        # and the Host header still use the name. Each new connection resolves afresh.
        name = self._dns_host
        self._dns_host = vetted_address(name, self.port)
        try:
            return super()._new_conn()
        finally:
            self._dns_host = name


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class _PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class PinnedAddressAdapter(HTTPAdapter):
    """A requests adapter whose direct connections go only to vetted addresses.

    Through a proxy (HTTPS_PROXY) the proxy resolves the name, so only the check before
    sending applies."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PinnedHTTPConnectionPool,
            "https": _PinnedHTTPSConnectionPool,
        }
