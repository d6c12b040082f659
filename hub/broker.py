"""The Redis broker transport the hub's Celery app uses: kombu's, with one fix.

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
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection was released (Redis lost)")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Make ``redis://`` and ``rediss://`` broker URLs use this transport."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
