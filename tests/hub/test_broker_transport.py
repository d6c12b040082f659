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


def test_publishes_on_a_channel_reuse_one_client_and_every_message_arrives(redis):
    # kombu's channel built a new redis client (its ~170 reply callbacks) per message.
    with Connection(redis.url(2)) as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool
        producer = connection.Producer()
        for number in range(3):
            producer.publish({"n": number}, routing_key="reused-client-queue")
        with channel.conn_or_acquire() as client:
            assert client is first
            assert client.llen("reused-client-queue") == 3


def test_a_client_passed_in_is_used_as_it_is(redis):
    with Connection(redis.url(2)) as connection:
        channel = connection.default_channel
        own = channel._create_client()
        with channel.conn_or_acquire(own) as client:
            assert client is own
        with channel.conn_or_acquire() as client:
            assert client is not own


def test_after_the_pool_is_dropped_a_publish_gets_a_client_on_the_new_pool(redis):
    # What kombu does when the broker is lost: the pools go; the next publish must not
    # keep talking through the old pool.
    with Connection(redis.url(2)) as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as before:
            old_pool = before.connection_pool
        channel._disconnect_pools()
        with channel.conn_or_acquire() as after:
            assert after is not before
            assert after.connection_pool is channel.pool is not old_pool
            after.lpush("after-reconnect", "x")
            assert after.llen("after-reconnect") == 1


def test_publishing_survives_a_broker_restart(redis):
    with Connection(redis.url(2)) as connection:
        producer = connection.Producer()
        producer.publish({"n": 1}, routing_key="restart-queue")
        redis.stop()
        redis.start()  # an outage: what Redis held is gone, the address is the same
        published = connection.ensure(producer, producer.publish, max_retries=3)
        published({"n": 2}, routing_key="restart-queue")
        with connection.default_channel.conn_or_acquire() as client:
            assert client.llen("restart-queue") == 1
