"""Concurrent refund requests cannot together refund more than was collected."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from hub.errors import HubError
from payments import selectors as payments_selectors
from payments import services
from payments.models import LedgerAccount, Payment, Refund
from tenants.scope import tenant_scope
from tests.conftest import client_for
from tests.payments.conftest import paid_payment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results, lock = [], threading.Lock()

    def worker(number: int):
        try:
            barrier.wait()
            outcome = work(number)
        except Exception as exc:  # collected and asserted on by the test
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_refund_services_cannot_over_refund(tenant, service):
    payment = paid_payment(tenant, service, amount=1000)

    def refund(_number):
        with tenant_scope(tenant):
            return services.create_refund(payment=payment, amount=300)

    results = run_concurrently(10, refund)
    made = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if isinstance(r, HubError)]
    assert len(made) == 3 and len(refused) == 7, results
    assert {r.code for r in refused} == {"refund_exceeds_available"}
    with tenant_scope(tenant):
        payment = Payment.objects.get(pk=payment.pk)
        total = Refund.objects.filter(payment=payment).aggregate(total=Sum("amount"))["total"]
    assert total == payment.amount_refunded == 900
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.REFUNDS]
        == 900
    )
    assert payments_selectors.ledger_is_balanced(tenant=tenant)


def test_concurrent_refund_requests_over_http_cannot_over_refund(tenant, service):
    payment = paid_payment(tenant, service, amount=1000)
    client = client_for(tenant)

    def refund(number):
        return client.post(
            f"/api/v1/payments/{payment.pk}/refunds",
            {"amount": 250},
            HTTP_IDEMPOTENCY_KEY=f"refund-{number}",
        )

    responses = run_concurrently(12, refund)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 4 + [422] * 8, [r.content for r in responses]
    with tenant_scope(tenant):
        assert Payment.objects.get(pk=payment.pk).amount_refunded == 1000
        assert Refund.objects.filter(payment=payment, state="success").count() == 4
