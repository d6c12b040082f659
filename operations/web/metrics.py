"""GET /metrics for Prometheus: an operator's scraper only (docs/operator-guide.md).

Allowed: ``Authorization: Bearer <HUB_METRICS_TOKEN>``, or a client address inside
HUB_METRICS_ALLOWED_NETWORKS (a development hub: loopback). The figures show every
agency's volumes, so they are not for agency staff or the public.
"""

from __future__ import annotations

import ipaddress
import secrets

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from operations.metrics import registry


def may_scrape(request) -> bool:
    token = settings.HUB_METRICS_TOKEN
    offered = request.META.get("HTTP_AUTHORIZATION", "")
    if token and secrets.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        client in ipaddress.ip_network(network, strict=False)
        for network in settings.HUB_METRICS_ALLOWED_NETWORKS
    )


def metrics_view(request):
    if not may_scrape(request):
        # No hint which of the two would have worked.
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
