"""Request counts and latency by route pattern (``api/v1/payments/<str:pk>``), never by
raw path: one series per route, not per payment id."""

from __future__ import annotations

import re
import time

from hub.observability import metrics

UNMATCHED = "<unmatched>"
# DRF's routers write regular expressions: "api/v1/payments/(?P<pk>[^/.]+)$" is
# reported as "api/v1/payments/<pk>".
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    route = match.route or match.view_name or UNMATCHED
    return _NAMED_GROUP.sub(r"<\1>", route).replace("^", "").replace("$", "")


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        route, method = route_of(request), request.method or "OTHER"
        metrics.http_request_duration.labels(route, method).observe(time.monotonic() - started)
        metrics.http_requests.labels(route, method, str(response.status_code)).inc()
        return response
