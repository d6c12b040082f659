"""The direct-debit interface the collection and reconciliation apps call."""

from __future__ import annotations

from datetime import date

import pytest

from hub.errors import Conflict, RuleViolation
from hub.events.models import Event
from payments import selectors as payments_selectors
from payments import services
from payments.models import LedgerAccount, LedgerTransaction, PaymentEvent
from payments.services.direct_debit import set_return_window_policy
from tenants.scope import all_tenants, tenant_scope
from tests.payments.conftest import new_payment

pytestmark = pytest.mark.django_db


def direct_debit(tenant, service, provider="bank_file", amount=4000):
    with tenant_scope(tenant):
        return services.create_payment(
            tenant=tenant,
            service=service,
            amount=amount,
            currency="EUR",
            description="Instalment 3 of 12",
            reference="PLAN-9/3",
            method="direct_debit",
            provider=provider,
            metadata={"instalment": "ins_123"},
        )


def payment_events(payment, type_="payment.failed"):
    with all_tenants():
        return list(Event.objects.filter(subject_id=payment.pk, type=type_).order_by("created_at"))


def test_created_direct_debit_has_no_page_and_no_expiry(tenant, service):
    payment = direct_debit(tenant, service)
    assert payment.state == "created" and payment.method == "direct_debit"
    assert payment.next_url == "" and payment.hosted_token is None
    assert payment.expires_at is None and payment.provider == "bank_file"


def test_submit_confirm_return_twice_is_applied_once(tenant, service):
    payment = direct_debit(tenant, service)
    payment = services.submit_direct_debit(payment=payment, provider_reference="E2E-PLAN-9-3")
    assert payment.state == "submitted" and payment.provider_reference == "E2E-PLAN-9-3"
    payment = services.confirm_direct_debit(
        payment=payment, provisional_until=date(2025, 3, 12), fee=35
    )
    assert payment.state == "success" and payment.provisional_until == date(2025, 3, 12)
    collected = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert collected[LedgerAccount.BANK] == 4000 - 35  # bank-file debits land in the bank
    assert collected[LedgerAccount.REVENUE] == -4000
    assert collected[LedgerAccount.FEES] == 35

    first = services.record_direct_debit_return(
        payment=payment, reason_code="AM04", returned_on=date(2025, 3, 10), source="camt053"
    )
    second = services.record_direct_debit_return(
        payment=payment, reason_code="AM04", returned_on=date(2025, 3, 10), source="stripe"
    )
    assert (first, second) == (True, False)
    with tenant_scope(tenant):
        payment.refresh_from_db()
        returns = LedgerTransaction.objects.filter(kind="direct_debit_returned")
        assert returns.count() == 1
        ignored = PaymentEvent.objects.filter(payment=payment, applied=False).get()
    assert payment.state == "failed" and payment.failure_code == "AM04"
    assert ignored.detail["ignored"] == "already_returned"

    after = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert after[LedgerAccount.REVENUE] == 0 and after[LedgerAccount.BANK] == -35
    assert payments_selectors.ledger_is_balanced(tenant=tenant)

    [failed] = payment_events(payment)
    assert failed.payload["return"] is True
    assert failed.payload["reason_code"] == "AM04"
    assert failed.payload["method"] == "direct_debit"
    assert failed.payload["returned_on"] == "2025-03-10"
    assert failed.payload["metadata"] == {"instalment": "ins_123"}
    [succeeded] = payment_events(payment, "payment.succeeded")
    assert succeeded.payload["provisional_until"] == "2025-03-12"


def test_stripe_direct_debits_settle_in_provider_clearing(tenant, service):
    from payments.models import ProviderAccount

    with tenant_scope(tenant):
        ProviderAccount.objects.create(tenant=tenant, provider="stripe", secret_key="sk_test_x")
    payment = direct_debit(tenant, service, provider="stripe")
    services.submit_direct_debit(payment=payment, provider_reference="pi_3Q")
    services.confirm_direct_debit(payment=payment, provisional_until=date(2025, 1, 9))
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[
            LedgerAccount.PROVIDER_CLEARING
        ]
        == 4000
    )


def test_return_before_confirmation_reverses_nothing(tenant, service):
    payment = direct_debit(tenant, service)
    services.submit_direct_debit(payment=payment)
    assert services.record_direct_debit_return(
        payment=payment, reason_code="AC04", returned_on=date(2025, 3, 3), source="camt053"
    )
    with tenant_scope(tenant):
        assert not LedgerTransaction.objects.exists()
    [failed] = payment_events(payment)
    assert failed.payload["return"] is True and failed.payload["was_collected"] is False


def test_fail_before_settlement(tenant, service):
    payment = direct_debit(tenant, service)
    services.submit_direct_debit(payment=payment)
    payment = services.fail_direct_debit(payment=payment, code="MD01", message="No mandate")
    assert payment.state == "failed" and payment.failure_code == "MD01"
    [failed] = payment_events(payment)
    assert failed.payload["return"] is False and failed.payload["failure_code"] == "MD01"
    # A repeat changes nothing; a collected debit must go through the return instead.
    services.fail_direct_debit(payment=payment, code="MD01", message="No mandate")
    assert len(payment_events(payment)) == 1
    collected = direct_debit(tenant, service)
    services.submit_direct_debit(payment=collected)
    services.confirm_direct_debit(payment=collected, provisional_until=date(2025, 1, 1))
    with pytest.raises(Conflict):
        services.fail_direct_debit(payment=collected, code="AM04", message="")


def test_wrong_order_and_wrong_method_are_refused(tenant, service):
    payment = direct_debit(tenant, service)
    with pytest.raises(Conflict):
        services.confirm_direct_debit(payment=payment, provisional_until=date(2025, 1, 1))
    card = new_payment(tenant, service)
    with pytest.raises(RuleViolation):
        services.submit_direct_debit(payment=card)
    with pytest.raises(RuleViolation):
        services.record_direct_debit_return(
            payment=card, reason_code="AM04", returned_on=date(2025, 1, 1), source="x"
        )


def test_submit_and_confirm_are_idempotent(tenant, service):
    payment = direct_debit(tenant, service)
    services.submit_direct_debit(payment=payment, provider_reference="ref-1")
    services.submit_direct_debit(payment=payment, provider_reference="ref-1")
    services.confirm_direct_debit(payment=payment, provisional_until=date(2025, 1, 1))
    services.confirm_direct_debit(payment=payment, provisional_until=date(2025, 1, 1))
    assert len(payment_events(payment, "payment.submitted")) == 1
    assert len(payment_events(payment, "payment.succeeded")) == 1
    with tenant_scope(tenant):
        assert LedgerTransaction.objects.filter(kind="direct_debit_collected").count() == 1


def test_direct_debits_are_not_refunded_through_the_hub(tenant, service):
    payment = direct_debit(tenant, service)
    services.submit_direct_debit(payment=payment)
    services.confirm_direct_debit(payment=payment, provisional_until=date(2025, 1, 1))
    with pytest.raises(RuleViolation) as refused:
        services.create_refund(payment=payment, amount=100)
    assert refused.value.code == "refund_not_supported"


def test_a_direct_debit_needs_a_provider(tenant, service):
    with tenant_scope(tenant), pytest.raises(RuleViolation) as refused:
        services.create_payment(
            tenant=tenant,
            service=service,
            amount=100,
            currency="EUR",
            description="x",
            reference="y",
            method="direct_debit",
        )
    assert refused.value.code == "provider_required"


def test_return_window_policy_is_pluggable(tenant, service, default_return_window):
    from payments.services.direct_debit import provisional_until_for

    payment = direct_debit(tenant, service)
    assert provisional_until_for(payment, date(2025, 1, 6)) == date(2025, 1, 14)
    previous = set_return_window_policy(lambda p, collected_on: collected_on.replace(day=8))
    try:
        assert provisional_until_for(payment, date(2025, 1, 6)) == date(2025, 1, 8)
    finally:
        set_return_window_policy(previous)
