"""What the payment API's hot path does more cheaply must still hold: rate counters in
Redis, serializers whose fields are built once, INSERTs without the tenant filter."""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches
from rest_framework import serializers

from hub.api.serializers import FieldsBuiltOnceMixin
from hub.api.throttling import ApiKeyRateThrottle
from hub.models import IdempotencyRecord
from payments.api.serializers import PaymentCreateSerializer, PaymentSerializer
from tenants import services as tenant_services
from tenants.scope import ScopeError, tenant_scope
from tests.payments.conftest import new_payment
from tests.support.faults import RedisServer, redis_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(tenant):
    return tenant_services.create_service(
        tenant=tenant, code="passport", name="Passport renewal", interaction_kind="discretionary"
    )


def test_the_redis_counter_refuses_past_the_budget_and_expires_with_its_window(
    api, monkeypatch, tmp_path
):
    if not RedisServer.available():
        pytest.skip("redis-server is not installed")
    from redis import Redis

    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "3/min", raising=False)
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with redis_at(redis.url(0)):
            statuses = [api.get("/api/v1/payments").status_code for _ in range(5)]
            (key,) = Redis.from_url(redis.url(0)).keys("*throttle_api_key*")
            ttl = Redis.from_url(redis.url(0)).ttl(key)
            # Django's cache reads the counter the throttle wrote (a plain integer).
            window = int(time.time() // 60)
            counter = f"throttle_api_key_{api.api_key.pk}:{window}"
            seen = caches["default"].get(counter)
    finally:
        redis.stop()

    assert statuses == [200, 200, 200, 429, 429]
    assert 0 < ttl <= 61
    assert seen in (5, None)  # None: the minute turned between the requests and the read


def test_serializers_built_once_bind_their_own_fields_per_instance(tenant, service):
    first = new_payment(tenant, service, reference="A-1")
    second = new_payment(tenant, service, reference="B-2", amount=100)

    one, two = PaymentSerializer(first), PaymentSerializer(second)

    assert one.fields["reference"] is not two.fields["reference"]
    assert one.fields["reference"].parent is one and two.fields["reference"].parent is two
    assert (one.data["reference"], one.data["amount"]) == ("A-1", 8550)
    assert (two.data["reference"], two.data["amount"]) == ("B-2", 100)
    assert list(one.data) == list(PaymentSerializer.Meta.fields)


def test_input_serializer_built_once_validates_each_request_on_its_own(tenant, service):
    body = {"amount": 1250, "currency": "EUR", "description": "d", "reference": "r"}
    with tenant_scope(tenant):
        good = PaymentCreateSerializer(data={**body, "service": service.pk})
        bad = PaymentCreateSerializer(data={**body, "amount": "12", "service": "svc_none"})
        assert good.is_valid(), good.errors
        assert not bad.is_valid()

    assert good.validated_data["service"] == service
    assert set(bad.errors) == {"amount", "service"}


def test_a_nested_serializer_cannot_have_its_fields_built_once():
    class Inner(serializers.Serializer):
        name = serializers.CharField()

    class Outer(FieldsBuiltOnceMixin, serializers.Serializer):
        inner = Inner()

    with pytest.raises(TypeError, match="nested serializer"):
        Outer(data={}).fields  # noqa: B018


def test_create_outside_any_scope_still_raises_and_inside_writes_the_named_tenant(
    tenant, other_tenant
):
    fields = {"key": "k-1", "fingerprint": "f", "method": "POST", "path": "/api/v1/payments"}
    with pytest.raises(ScopeError):
        IdempotencyRecord.objects.create(tenant=tenant, **fields)
    with pytest.raises(ScopeError):
        IdempotencyRecord.objects.bulk_create([IdempotencyRecord(tenant=tenant, **fields)])

    with tenant_scope(tenant):
        IdempotencyRecord.objects.create(tenant=tenant, **fields)
        mine = list(IdempotencyRecord.objects.values_list("tenant_id", flat=True))
    with tenant_scope(other_tenant):
        theirs = IdempotencyRecord.objects.count()

    assert mine == [tenant.pk]
    assert theirs == 0
