"""A provider call never happens inside the payment's row lock or an open transaction.

A provider can take a minute to answer (20 s timeout, retried). Held inside a row lock,
that minute blocks the payer's page, the provider's webhook and the stuck-payment check on the same
payment; held inside a transaction, it pins a database connection. The provider here is
a test double that stays "on the line" until the test releases it, so the test can look
at the database while the call is open.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from payments import services
from payments.models import Payment
from payments.providers.base import PaymentProvider, StartedPayment
from payments.providers.registry import registry
from tenants.scope import all_tenants, tenant_scope
from tests.support.concurrency import in_background, row_is_free

PROVIDER = "slow-test-provider"


class SlowProvider(PaymentProvider):
    """Answers only when the test says so; records what it saw while on the line."""

    label = "Slow test provider"

    def __init__(self) -> None:
        self.on_the_line = threading.Event()
        self.hang_up = threading.Event()
        self.seen: dict = {}

    def _hold(self, payment) -> None:
        self.seen["in_transaction"] = connection.in_atomic_block
        with all_tenants():
            self.seen["row_exists"] = Payment.objects.filter(pk=payment.pk).exists()
        self.on_the_line.set()
        assert self.hang_up.wait(timeout=20), "the test never released the provider"

    def start_payment(self, *, payment, account):
        self._hold(payment)
        return StartedPayment(next_url="https://pay.example/x", provider_reference="slow_1")

    def stop_payment(self, *, payment, account):
        self._hold(payment)
        return None


if PROVIDER not in registry:
    registry.register(PROVIDER)(SlowProvider)


@pytest.fixture
def slow():
    plugin = registry[PROVIDER]
    plugin.on_the_line.clear()
    plugin.hang_up.clear()
    plugin.seen.clear()
    yield plugin
    plugin.hang_up.set()


def create_with(tenant, service):
    with tenant_scope(tenant):
        return services.create_payment(
            tenant=tenant,
            service=service,
            amount=1000,
            currency="EUR",
            description="Dog licence",
            reference="DOG-1",
            provider=PROVIDER,
        )


def new_payment(tenant, service, slow):
    slow.hang_up.set()  # creating it is not under test here
    payment = create_with(tenant, service)
    slow.hang_up.clear()
    slow.on_the_line.clear()
    return payment


@pytest.mark.django_db(transaction=True)
def test_the_payment_row_is_created_only_after_the_provider_answered(tenant, service, slow):
    slow.hang_up.set()
    payment = create_with(tenant, service)
    assert slow.seen == {"in_transaction": False, "row_exists": False}
    with all_tenants():
        assert Payment.objects.get(pk=payment.pk).next_url == "https://pay.example/x"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancelling_holds_no_row_lock_while_the_provider_answers(tenant, service, slow):
    payment = new_payment(tenant, service, slow)
    thread, outcome = in_background(lambda: services.cancel_payment(payment=payment))
    assert slow.on_the_line.wait(timeout=10)
    try:
        assert row_is_free("payments_payment", payment.pk)
        assert slow.seen["in_transaction"] is False
    finally:
        slow.hang_up.set()
        thread.join(timeout=20)
    assert "error" not in outcome, outcome
    assert outcome["result"].state == "cancelled"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_expiring_holds_no_row_lock_while_the_provider_answers(tenant, service, slow):
    payment = new_payment(tenant, service, slow)
    with all_tenants():
        Payment.objects.filter(pk=payment.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    thread, outcome = in_background(lambda: services.expire_payment(payment=payment))
    assert slow.on_the_line.wait(timeout=10)
    try:
        assert row_is_free("payments_payment", payment.pk)
    finally:
        slow.hang_up.set()
        thread.join(timeout=20)
    assert outcome == {"result": True}
    with all_tenants():
        assert Payment.objects.get(pk=payment.pk).state == "expired"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_payment_paid_while_the_provider_answered_is_not_cancelled(tenant, service, slow):
    from payments.providers.base import ProviderStatus
    from payments.services import outcomes

    payment = new_payment(tenant, service, slow)
    thread, outcome = in_background(lambda: services.cancel_payment(payment=payment))
    assert slow.on_the_line.wait(timeout=10)
    with tenant_scope(tenant):
        outcomes.apply_provider_status(
            payment=payment, status=ProviderStatus("success"), source="webhook"
        )
    slow.hang_up.set()
    thread.join(timeout=20)
    assert outcome["error"].code == "payment_not_cancellable"
    with all_tenants():
        assert Payment.objects.get(pk=payment.pk).state == "success"
