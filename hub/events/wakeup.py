"""Coalesced dispatch wake-ups: at most one dispatch message outstanding for the
ordinary events of every process.

Handing each committed payment's event to Celery cost about a millisecond of CPU per
API request (building and publishing the message) and one message per event, however
busy the hub was. Instead, a transaction's commit hook first sets a wake-up key in
Redis (``SET NX PX``: one round trip). Only the transaction that set it publishes its
dispatch message; every other finds a message already outstanding and publishes
nothing. The dispatch task deletes the key, then dispatches its own events, then every
committed event that no dispatcher has claimed yet (``dispatch.dispatch_pending``).

Why no event is left behind. Event E commits at t_c; its hook tries ``SET NX`` at
t_s > t_c. If the SET succeeds, E's own message dispatches it. If it fails, the key
exists at t_s: it was set by the last successful SET before t_s, whose transaction
published message M (its hook publishes after setting). M's task deletes the key when
it starts: after that SET and, since the key was still there at t_s, after t_s (an
earlier task's DEL would have removed it before t_s; whichever task deletes it first
after t_s drains too). Every dispatch task looks for unclaimed events *after* its
DEL, with a fresh snapshot, so at some t > t_s > t_c: E is committed and found. The
key's expiry (``WAKE_TTL``) only lets another message through; it never suppresses
one.

What can still leave an event to the periodic sweep (``hub.sweep_outbox``, every 30 s),
as before this change: M itself lost (a publish that fails releases the key, so the
next commit publishes again; a worker killed between taking M and its DEL — with late
acks M comes back after the visibility timeout — leaves the key set for at most
``WAKE_TTL``).

The key lives in the shared cache (``REDIS_URL``): a hint, like the throttle's counters,
whose loss costs one extra message. Without a Redis cache (a laptop's locmem cache is
per process) or when the cache does not answer, every commit publishes, as before.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from hub import redis_client

logger = logging.getLogger(__name__)

WAKE_KEY = "hub:events:dispatch-wake"
# How long one outstanding message holds off the others if its task never deletes the
# key (the message was lost): a bound on the suppression, not a dispatch delay.
WAKE_TTL_MS = int(getattr(settings, "HUB_DISPATCH_WAKE_SECONDS", 5) * 1000)


def _client_and_key():
    store = caches["default"]
    if not isinstance(store, RedisCache):
        return None, None
    return redis_client.client_of(store), store.make_key(WAKE_KEY)


def request() -> bool:
    """After a commit: True if the caller must publish a dispatch message (it set the
    wake-up, or there is no shared cache to coalesce through), False if a message is
    already outstanding (its task will find the caller's events)."""
    client, key = _client_and_key()
    if client is None:
        return True
    try:
        return bool(client.set(key, b"1", nx=True, px=WAKE_TTL_MS))
    except Exception as exc:  # the cache is down: publish, as without coalescing
        logger.warning("dispatch wake-up: cache unreachable (%s); publishing", type(exc).__name__)
        return True


def release() -> None:
    """Forget the wake-up: a dispatcher calls this *before* it looks for unclaimed
    events; a publisher whose message did not reach the broker calls it so the next
    commit publishes again."""
    client, key = _client_and_key()
    if client is None:
        return
    try:
        client.delete(key)
    except Exception as exc:  # expires after WAKE_TTL_MS; the sweep remains
        logger.warning("dispatch wake-up: cache unreachable (%s)", type(exc).__name__)
