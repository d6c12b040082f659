"""Outages of Redis (cache and broker) and of the database, seen from the API.

Payments and the event outbox live in PostgreSQL; Redis holds rate-limit counters and
the Celery queue. Its outage delays webhooks (the sweep dispatches the outbox once the
broker is back) but must not refuse a single request.
"""

import logging
import time

import pytest
from rest_framework.test import APIClient

from hub.api.throttling import ApiKeyRateThrottle
from hub.events.models import Event
from payments.models import Payment
from tenants import services as tenant_services
from tenants.scope import all_tenants
from tests.support.faults import redis_at, stopped_redis_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(tenant):
    return tenant_services.create_service(
        tenant=tenant, code="permits", name="Parking permits", interaction_kind="discretionary"
    )


def payment(for_service, n: int) -> dict:
    return {
        "amount": 1250,
        "currency": "EUR",
        "description": "Parking permit",
        "reference": f"PP-{n}",
        "service": for_service.pk,
    }


def test_payment_posts_answer_201_while_redis_is_down(api, service):
    with redis_at(stopped_redis_url()):
        statuses = [api.post("/api/v1/payments", payment(service, n)).status_code for n in range(5)]

    assert statuses == [201] * 5
    with all_tenants():
        assert Payment.objects.count() == 5
        # Each write's event is in the outbox, waiting for the sweep once Redis is back.
        assert Event.objects.filter(dispatched_at__isnull=True).count() >= 5


def test_health_is_degraded_and_names_broker_and_cache_while_redis_is_down():
    with redis_at(stopped_redis_url()):
        response = APIClient().get("/api/v1/health")

    assert response.status_code == 200  # the web process still serves writes
    body = response.json()
    assert body["status"] == "degraded"
    assert set(body["degraded"]) == {"broker", "cache"}
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False and body["cache"]["ok"] is False


def test_the_rate_limit_still_holds_per_process_while_the_cache_is_down(
    api, service, monkeypatch, caplog
):
    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "3/min", raising=False)
    with redis_at(stopped_redis_url()), caplog.at_level(logging.WARNING, "hub.api.throttling"):
        statuses = [api.get("/api/v1/payments").status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    warnings = [r for r in caplog.records if "shared cache unreachable" in r.getMessage()]
    assert len(warnings) == 1  # once per outage window, not once per request


@pytest.fixture
def unreachable_database():
    """The default connection pointed at a database that cannot be opened, as during an
    outage; the real settings come back afterwards."""
    from django.db import connection

    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        from tests.support.faults import free_port

        connection.settings_dict["PORT"] = free_port()
    else:
        connection.settings_dict["NAME"] = "/nonexistent/hub-outage/db.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_answers_503_in_the_error_shape(api, service, request):
    api.get("/api/v1/payments")  # the key is valid while the database is there
    request.getfixturevalue("unreachable_database")

    response = api.post("/api/v1/payments", payment(service, 1))
    health = APIClient().get("/api/v1/health")

    assert response.status_code == 503, response.content
    assert response.headers["Retry-After"] == "5"
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("service_unavailable", "database_unavailable")
    assert health.status_code == 503
    assert health.json()["status"] == "down" and "database" in health.json()["degraded"]


def test_the_rate_limiter_goes_back_to_the_shared_counters_when_redis_returns(
    api, monkeypatch, tmp_path
):
    from redis import Redis

    from hub.api import throttling
    from tests.support.faults import RedisServer

    if not RedisServer.available():
        pytest.skip("redis-server is not installed")
    monkeypatch.setattr(throttling, "CACHE_RETRY_AFTER", 0.5)
    redis = RedisServer(tmp_path)  # its port is chosen; nothing listens on it yet
    try:
        with redis_at(redis.url(0)):
            assert api.get("/api/v1/payments").status_code == 200  # counted per process
            assert not throttling.shared_cache.usable(time.monotonic())
            redis.start()
            time.sleep(0.6)
            assert api.get("/api/v1/payments").status_code == 200
            # Counted in Redis again: the window's counter is there.
            assert throttling.shared_cache.usable(time.monotonic())
            counters = Redis.from_url(redis.url(0)).keys("*throttle_api_key*")
            assert len(counters) == 1, counters
    finally:
        redis.stop()


def test_health_answers_quickly_while_redis_is_down():
    with redis_at(stopped_redis_url()):
        started = time.monotonic()
        response = APIClient().get("/api/v1/health")
        took = time.monotonic() - started
    assert response.json()["status"] == "degraded"
    assert took < 1.5, took  # a load balancer's probe typically gives up after 2-5 s
