"""Property: whatever agencies and payers do, the books balance and refunds never
exceed what was collected."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hub.errors import HubError
from payments import selectors as payments_selectors
from payments import services
from payments.models import LedgerAccount, Payment, Refund
from payments.services.sandbox_payments import PaymentNotPayable, pay_with_test_card
from tenants.scope import tenant_scope
from tests.payments.conftest import DECLINED_CARD, SUCCESS_CARD

pytestmark = pytest.mark.django_db

pick = st.integers(min_value=0, max_value=7)
amounts = st.integers(min_value=1, max_value=10**7)
create = st.tuples(st.sampled_from(["create", "create_paid"]), amounts)
succeed = st.tuples(st.just("succeed"), pick)
fail = st.tuples(st.just("fail"), pick)
refund_full = st.tuples(st.just("refund_full"), pick)
# Small partial refunds add up; large ones probe the limit.
refund_partial = st.tuples(
    st.just("refund_partial"),
    pick,
    st.one_of(st.integers(min_value=1, max_value=5000), st.integers(min_value=1, max_value=10**7)),
)
cancel = st.tuples(st.just("cancel"), pick)
# Weighted towards money moving: successes and refunds are where the books can go wrong.
operations = st.lists(
    st.one_of(create, succeed, fail, refund_full, refund_partial, refund_partial, cancel),
    max_size=30,
)


def check_invariants(tenant) -> None:
    assert payments_selectors.ledger_is_balanced(tenant=tenant)
    collected = Payment.objects.filter(state="success").aggregate(total=Sum("amount"))["total"] or 0
    refunded = Refund.objects.filter(state="success").aggregate(total=Sum("amount"))["total"] or 0
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.REVENUE] == -collected
    assert balances[LedgerAccount.REFUNDS] == refunded
    assert balances[LedgerAccount.PROVIDER_CLEARING] == collected - refunded
    assert sum(balances.values()) == 0
    for payment in Payment.objects.all():
        live = payment.refunds.exclude(state="error").aggregate(total=Sum("amount"))["total"] or 0
        assert live == payment.amount_refunded <= payment.amount
        if payment.state != "success":
            assert live == 0


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_any_sequence_keeps_the_ledger_balanced(tenant, service, steps):
    with transaction.atomic(), tenant_scope(tenant):
        payments: list[Payment] = []
        for step in steps:
            name, *args = step
            if name in ("create", "create_paid"):
                payment = services.create_payment(
                    tenant=tenant,
                    service=service,
                    amount=args[0],
                    currency="EUR",
                    description="Property",
                    reference="prop",
                )
                if name == "create_paid":
                    payment = pay_with_test_card(payment=payment, card_number=SUCCESS_CARD)
                payments.append(payment)
                check_invariants(tenant)
                continue
            if not payments:
                continue
            payment = payments[args[0] % len(payments)]
            payment.refresh_from_db()
            try:
                if name == "succeed":
                    pay_with_test_card(payment=payment, card_number=SUCCESS_CARD)
                elif name == "fail":
                    pay_with_test_card(payment=payment, card_number=DECLINED_CARD)
                elif name == "cancel":
                    services.cancel_payment(payment=payment)
                elif name == "refund_full":
                    services.create_refund(
                        payment=payment, amount=max(payment.amount_refundable, 1)
                    )
                else:
                    services.create_refund(payment=payment, amount=args[1])
            except (HubError, PaymentNotPayable):
                pass  # refused: must have changed nothing, which the invariants check
            payment.refresh_from_db()
            event(f"{name} -> {payment.state}, refunded {payment.amount_refunded > 0}")
            check_invariants(tenant)
        transaction.set_rollback(True)
