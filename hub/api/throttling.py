"""Per-API-key rate limiting with a fixed-window counter.

DRF's SimpleRateThrottle keeps every request's timestamp in one cached list and
rewrites it on each call: at 6,000 requests a minute that is a list of thousands of
floats pickled per request. A counter per key and window is one atomic INCR.
The price is burstiness at a window edge (up to twice the rate across two
adjacent windows), which a per-minute budget tolerates. On Redis the counter is
created and counted in one round trip (SET NX EX, INCR in one MULTI) through one
client per cache, not Django's add() then incr(), each of which builds a new client.

The counters live in the shared cache (Redis in production). Redis is not where the
hub keeps anything that matters — payments and the event outbox are in PostgreSQL — so
an unreachable cache must not refuse requests: the throttle then counts in this
process's memory (the same budget, per process instead of per hub), logs a warning,
and leaves the shared cache alone for ``CACHE_RETRY_AFTER`` seconds so that every
request does not wait for a connection that is known to fail.
"""

import logging
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from hub import redis_client

logger = logging.getLogger(__name__)

# After a cache failure, how long to count locally before trying the shared cache again.
CACHE_RETRY_AFTER = 5.0


class _SharedCacheState:
    """Whether the shared cache failed recently; one per process, shared by threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_until = 0.0
        self.local = LocMemCache("hub-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})

    def usable(self, now: float) -> bool:
        return now >= self.down_until

    def failed(self, now: float, exc: Exception) -> None:
        with self._lock:
            first = now >= self.down_until
            self.down_until = now + CACHE_RETRY_AFTER
        if first:  # once per outage window, not once per request
            logger.warning(
                "rate limiter: shared cache unreachable (%s); counting per process for %.0f s",
                type(exc).__name__,
                CACHE_RETRY_AFTER,
            )

    def reset(self) -> None:
        self.down_until = 0.0
        self.local.clear()


shared_cache = _SharedCacheState()


def _count(store, counter: str, timeout: int) -> int:
    if isinstance(store, RedisCache):
        return _count_in_redis(store, counter, timeout)
    # add() is atomic: the first request of a window creates the counter.
    if store.add(counter, 1, timeout=timeout):
        return 1
    try:
        return store.incr(counter)
    except ValueError:  # expired between add() and incr()
        store.add(counter, 1, timeout=timeout)
        return 1


def _count_in_redis(store: RedisCache, counter: str, timeout: int) -> int:
    """The window's count after this request, in one round trip.

    The client is the cache object's own, kept (hub/redis_client.py). The counter
    is stored as Django stores an integer (plain, not pickled), so
    ``cache.get`` still reads it.
    """
    client = redis_client.client_of(store)
    key = store.make_and_validate_key(counter)
    # MULTI/EXEC: creating the counter with its expiry and counting cannot interleave
    # with the counter expiring (an INCR on an expired key would make one that never
    # expires).
    pipe = client.pipeline(transaction=True)
    pipe.set(key, 0, ex=timeout, nx=True)
    pipe.incr(key)
    return pipe.execute()[1]


def count_in_window(key: str, duration: int, *, now: float | None = None) -> tuple[int, float]:
    """Count one more hit on ``key`` in the current fixed window of ``duration`` seconds:
    (the window's count including this hit, seconds until the window ends).

    The shared cache when it answers, this process's memory when it does not (see the
    module's docstring). Pages outside the API (the notifier's status page) use it too."""
    now = time.time() if now is None else now
    window = int(now // duration)
    counter = f"{key}:{window}"
    timeout = duration + 1
    monotonic = time.monotonic()
    count = None
    if shared_cache.usable(monotonic):
        try:
            count = _count(caches["default"], counter, timeout)
        except Exception as exc:  # any backend's connection error: Redis, memcached
            shared_cache.failed(monotonic, exc)
    if count is None:
        count = _count(shared_cache.local, counter, timeout)
    return count, max((window + 1) * duration - now, 0.0)


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
        self.now = time.time()
        count, remaining = count_in_window(key, self.duration, now=self.now)
        self.window_ends_at = self.now + remaining
        return count <= self.num_requests

    def wait(self):
        return max(self.window_ends_at - self.now, 0.0)
