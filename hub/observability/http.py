"""Request counts and latency by route pattern (``api/v1/payments/<pk>``), never by
raw path: one series per route, not per payment id; and one access line per request.

The access line is the hub's own, not the web server's: it carries the request id
(hub/observability/request_id.py, bound while this runs) and the route, and the path
without its query string (where a client might still put an identifier).
"""

from __future__ import annotations

import logging
import re
import time

from hub.observability import metrics

access_log = logging.getLogger("hub.requests")
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
        elapsed = time.monotonic() - started
        route, method = route_of(request), request.method or "OTHER"
        metrics.http_request_duration.labels(route, method).observe(elapsed)
        metrics.http_requests.labels(route, method, str(response.status_code)).inc()
        access_log.info(
            "%s %s %s",
            method,
            request.path,
            response.status_code,
            extra={
                "route": route,
                "status": response.status_code,
                "duration_ms": int(elapsed * 1000),
            },
        )
        return response
