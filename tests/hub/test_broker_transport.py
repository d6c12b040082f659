"""hub/broker.py: a channel closed after its broker connection was released (what Celery
does when Redis goes away under a busy worker) fails with a connection error, which
Celery recovers from, not kombu's AttributeError, which stops the worker."""

import pytest
from kombu import Connection
from kombu.transport import redis as kombu_redis

from hub import broker
from hub.celery import app as celery_app
from tests.support.faults import RedisServer


@pytest.fixture
def redis(tmp_path):
    if not RedisServer.available():
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def released_channel_with_unacked_message(url: str):
    """The state Celery's consumer leaves after the connection was lost and collected:
    the channel's pools dropped, the transport detached from its connection, and a
    message still unacknowledged (a task running in the pool)."""
    connection = Connection(url)
    channel = connection.default_channel
    channel.qos._delivered["tag-1"] = object()
    channel._disconnect_pools()
    connection._do_close_transport()
    return connection, channel


def test_a_released_connection_is_a_connection_error_the_worker_recovers_from(redis):
    _connection, channel = released_channel_with_unacked_message(redis.url(1))
    assert isinstance(channel, broker.Channel)

    # One of the transport's connection errors: Celery's consumer ignores it while
    # closing and reconnects, as for any lost connection.
    with pytest.raises(tuple(channel.connection_errors)):
        channel.close()


def test_the_hub_app_uses_the_hub_transport_for_redis_urls(redis):
    with celery_app.connection_for_write(redis.url(1)) as connection:
        assert isinstance(connection.default_channel, broker.Channel)


def test_stock_kombu_raises_attribute_error_in_the_same_state(redis, monkeypatch):
    # Shows what hub/broker.py fixes: with kombu's own channel class the same close
    # raises AttributeError, which Celery's consumer treats as unrecoverable.
    monkeypatch.setattr(broker.Transport, "Channel", kombu_redis.Channel)
    _connection, channel = released_channel_with_unacked_message(redis.url(1))
    with pytest.raises(AttributeError):
        channel.close()
