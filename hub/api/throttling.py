"""Per-API-key rate limiting with a fixed-window counter.

DRF's SimpleRateThrottle keeps every request's timestamp in one cached list and
rewrites it on each call: at 6,000 requests a minute that is a list of thousands of
floats pickled per request. A counter per key and window is one atomic INCR.
The price is burstiness at a window edge (up to twice the rate across two
adjacent windows), which a per-minute budget tolerates.
"""

import time

from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """A budget per API key, so one agency's batch job cannot starve the others."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        api_key = getattr(request, "auth", None)
        ident = api_key.pk if api_key is not None else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        counter = f"{key}:{window}"
        # add() is atomic: the first request of a window creates the counter.
        if cache.add(counter, 1, timeout=self.duration + 1):
            count = 1
        else:
            try:
                count = cache.incr(counter)
            except ValueError:  # expired between add() and incr()
                cache.add(counter, 1, timeout=self.duration + 1)
                count = 1
        self.now = now
        return count <= self.num_requests

    def wait(self):
        return max(self.window_ends_at - self.now, 0.0)
