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


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


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
