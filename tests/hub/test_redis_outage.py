"""Redis down (cache and broker): the API keeps accepting writes, health says degraded.

Payments and the event outbox live in PostgreSQL; Redis holds rate-limit counters and
the Celery queue. Its outage delays webhooks (the sweep dispatches the outbox once the
broker is back) but must not refuse a single request.
"""

import logging

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
