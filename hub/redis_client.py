"""One redis client per Django cache object, for code that talks to the cache's Redis
directly (the API throttle's counters, the dispatch wake-up).

Django's RedisCache builds a new redis client (and its table of some 170 reply
callbacks) for every call. Cache objects are per thread and replaced when the CACHES
setting changes, so a client kept on the cache object follows them."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache


def client_of(store: RedisCache):
    client = store.__dict__.get("_hub_redis_client")
    if client is None:
        client = store._hub_redis_client = store._cache.get_client(write=True)
    return client
