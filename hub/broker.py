"""The Redis broker transport the hub's Celery app uses: kombu's, with two changes.

When Redis goes away under a busy worker, Celery releases the broken connection, and a
channel that is closed (or a task acknowledged) afterwards asks that released
connection for its address: kombu's redis transport then fails with
``AttributeError: 'NoneType' object has no attribute 'hostname'``. That is not one of
the transport's connection errors, so the worker treats it as unrecoverable and exits
instead of reconnecting (seen in tests/reliability/test_faults.py about one run in
four). Here a released connection raises redis's ``ConnectionError``, which Celery
handles like any lost connection: it retries until Redis answers again. The messages
concerned stay unacknowledged in Redis and come back after the visibility timeout;
the hub's sweepers redo their work sooner (docs/operator-guide.md).

And a publish reuses one client. kombu's channel builds a new ``redis.Redis`` for every
message it publishes (``conn_or_acquire``): the client draws its connection from the
channel's pool either way, but constructing it (its table of some 170 reply callbacks)
was a fifth of the CPU a web request spends handing one dispatch task to Celery
(docs/performance.md, "API: creating payments"). The channel keeps the client it made
for as long as its pool lives; when kombu drops the pool (the broker was lost), the
next publish makes a new client on the new pool. A ``redis.Redis`` over a pool is
safe to share between threads: each command takes a connection from the pool.
"""

from __future__ import annotations

from contextlib import contextmanager

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection was released (Redis lost)")
        return super()._connparams(asynchronous=asynchronous)

    _publish_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        pool = self.pool
        reused = self._publish_client
        if reused is None or reused.connection_pool is not pool:
            reused = self._publish_client = self._create_client()
        yield reused


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Make ``redis://`` and ``rediss://`` broker URLs use this transport."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
