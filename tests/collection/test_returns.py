"""Rejects and returns: every reason code gets its rule's action; retries stop at the limit."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from collection.models import CollectionAttempt, Debt, Instalment, Mandate, PaymentPlan
from collection.schemes import ReturnAction, Scheme, add_business_days
from collection.schemes.return_codes import RULES
from collection.services import runs
from payments import services as payments
from payments.models import PaymentState
from tenants.scope import tenant_scope
from tests.collection.conftest import dispatch_pending, events_of

pytestmark = pytest.mark.django_db

LEAP_DAY = dt.date(2024, 2, 29)
RETURNED_ON = dt.date(2024, 3, 5)  # a Tuesday: both schemes are open
SEPA_CODES = sorted(code for scheme, code in RULES if scheme is Scheme.SEPA_CORE)
BACS_CODES = sorted(code for scheme, code in RULES if scheme is Scheme.BACS)


def run_on(tenant, day):
    """A run on ``day`` (which is "today" for it: a run may not be dated beyond today plus
    the lead time); Stripe (the Bacs agency) answers every PaymentIntent."""

    def reply(request):
        attempt_id = parse_qs(request.body)["metadata[collection_attempt]"][0]
        intent = {"id": f"pi_{attempt_id}", "object": "payment_intent", "status": "processing"}
        return 200, {}, json.dumps(intent)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(
            responses.POST, "https://api.stripe.com/v1/payment_intents", callback=reply
        )
        with tenant_scope(tenant), mock_today(day):
            run = runs.start_run(tenant=tenant, run_date=day, trigger="api", enqueue=False)
            return runs.process_run(run=run)


@contextmanager
def mock_today(day):
    real = timezone.localdate
    with patch.object(timezone, "localdate", lambda *a, **k: real(*a, **k) if a else day):
        yield


def latest_attempt(tenant, instalment) -> CollectionAttempt:
    with tenant_scope(tenant):
        return (
            CollectionAttempt.objects.select_related("payment")
            .filter(instalment=instalment)
            .order_by("-number")
            .first()
        )


def collected_first_instalment(tenant, collections, scheme):
    """A plan whose first instalment was presented and collected."""
    debt, mandate, plan = collections.debt_in_plan(
        amount=1200,
        scheme=scheme,
        first_date=(dt.date(2024, 3, 1) if scheme == "sepa_core" else dt.date(2024, 3, 4)),
    )
    with tenant_scope(tenant):
        if mandate.state == Mandate.State.PENDING:
            Mandate.objects.filter(pk=mandate.pk).update(state=Mandate.State.ACTIVE)
        instalment = plan.instalments.get(sequence=1)
    run_on(tenant, instalment.submit_on)
    attempt = latest_attempt(tenant, instalment)
    payments.confirm_direct_debit(payment=attempt.payment, provisional_until=RETURNED_ON)
    dispatch_pending()
    return debt, mandate, plan, instalment


def reload(tenant, *objects):
    with tenant_scope(tenant):
        for obj in objects:
            obj.refresh_from_db()


@pytest.fixture
def bacs_collections(make_tenant):
    from tests.collection.conftest import Collections

    return Collections(make_tenant(), provider="stripe")


@pytest.mark.parametrize(
    "scheme,code",
    [("sepa_core", c) for c in SEPA_CODES] + [("bacs", c) for c in BACS_CODES],
)
def test_each_return_code_leads_to_its_rules_action(
    scheme, code, tenant, collections, bacs_collections
):
    setup = collections if scheme == "sepa_core" else bacs_collections
    agency = setup.tenant
    debt, mandate, plan, instalment = collected_first_instalment(agency, setup, scheme)
    attempt = latest_attempt(agency, instalment)
    assert payments.record_direct_debit_return(
        payment=attempt.payment, reason_code=code, returned_on=RETURNED_ON, source="test"
    )
    dispatch_pending()
    reload(agency, attempt, instalment, debt, mandate, plan)
    rule = RULES[(Scheme(scheme), code)]

    assert attempt.state == CollectionAttempt.State.FAILED and attempt.returned
    assert (attempt.failure_code, attempt.failure_action) == (code, rule.action.value)
    assert (debt.amount_collected, debt.amount_returned, debt.balance) == (400, 400, 1200)
    [failed] = events_of("instalment.failed", instalment.pk)
    assert failed.payload["action"] == rule.action.value
    with tenant_scope(agency):
        later = list(plan.instalments.filter(sequence__gt=1).values_list("state", flat=True))

    if rule.action is ReturnAction.RETRY:
        expected = add_business_days(RETURNED_ON, 3, Scheme(scheme))
        assert instalment.state == Instalment.State.RETRYING
        assert instalment.collect_on == expected
        assert failed.payload["retry_on"] == expected.isoformat()
        assert debt.state == Debt.State.IN_PLAN
        assert mandate.state == Mandate.State.ACTIVE
        assert later == [Instalment.State.SCHEDULED] * 2
    elif rule.action is ReturnAction.STOP:
        assert instalment.state == Instalment.State.FAILED
        assert debt.state == Debt.State.IN_ARREARS and debt.arrears_since == RETURNED_ON
        assert mandate.state == Mandate.State.ACTIVE
        assert plan.state == PaymentPlan.State.ACTIVE
        assert later == [Instalment.State.SCHEDULED] * 2
    elif rule.action is ReturnAction.STOP_CANCEL_MANDATE:
        assert instalment.state == Instalment.State.FAILED
        assert debt.state == Debt.State.IN_ARREARS
        # It collected once before, so it was cancelled rather than failed.
        assert mandate.state == Mandate.State.CANCELLED
        assert plan.state == PaymentPlan.State.CANCELLED
        assert later == [Instalment.State.CANCELLED] * 2
        assert events_of("mandate.cancelled", mandate.pk)
    else:
        assert rule.action is ReturnAction.STOP_SUSPEND_DEBT
        assert instalment.state == Instalment.State.FAILED
        assert debt.state == Debt.State.SUSPENDED
        assert mandate.state == Mandate.State.CANCELLED
        assert plan.state == PaymentPlan.State.CANCELLED
        assert later == [Instalment.State.CANCELLED] * 2
        assert events_of("debt.suspended", debt.pk)


def test_an_unknown_code_stops_for_review(tenant, collections):
    _debt, mandate, _plan, instalment = collected_first_instalment(tenant, collections, "sepa_core")
    attempt = latest_attempt(tenant, instalment)
    payments.record_direct_debit_return(
        payment=attempt.payment, reason_code="ZZ99", returned_on=RETURNED_ON, source="test"
    )
    dispatch_pending()
    reload(tenant, instalment, mandate)
    assert instalment.state == Instalment.State.FAILED
    assert instalment.last_failure_code == "ZZ99"
    assert mandate.state == Mandate.State.ACTIVE


def test_a_mandate_rejected_before_it_ever_collected_has_failed(tenant, collections):
    debt, mandate, plan = collections.debt_in_plan()
    run_on(tenant, LEAP_DAY)
    with tenant_scope(tenant):
        instalment = plan.instalments.get(sequence=1)
    attempt = latest_attempt(tenant, instalment)
    payments.fail_direct_debit(payment=attempt.payment, code="AC01", message="no such account")
    dispatch_pending()
    reload(tenant, mandate, debt, instalment)
    assert mandate.state == Mandate.State.FAILED
    assert instalment.state == Instalment.State.FAILED
    # Rejected before settlement: nothing was collected, so nothing comes back.
    assert (debt.amount_collected, debt.amount_returned, debt.balance) == (0, 0, 1200)
    assert events_of("mandate.failed", mandate.pk)


def fail_current_attempt(tenant, instalment, code):
    attempt = latest_attempt(tenant, instalment)
    payments.fail_direct_debit(payment=attempt.payment, code=code, message="rejected")
    dispatch_pending()
    reload(tenant, instalment)
    return attempt


def test_insufficient_funds_is_retried_on_schedule_and_stops_at_the_limit(tenant, collections):
    collections.update_settings(retry_max_attempts=3, retry_delays=[3, 7, 14])
    debt, _mandate, plan = collections.debt_in_plan()
    with tenant_scope(tenant):
        instalment = plan.instalments.get(sequence=1)
    run_on(tenant, instalment.submit_on)
    retry_dates = []
    for number in range(1, 5):
        attempt = fail_current_attempt(tenant, instalment, "AM04")
        assert attempt.number == number
        if number <= 3:
            assert instalment.state == Instalment.State.RETRYING
            retry_dates.append(instalment.collect_on)
            run_on(tenant, instalment.submit_on)
            reload(tenant, instalment)
            assert instalment.state == Instalment.State.SUBMITTED
    reload(tenant, debt)
    assert instalment.state == Instalment.State.FAILED
    assert instalment.attempt_count == 4  # the first presentation and three retries
    assert debt.state == Debt.State.IN_ARREARS
    with tenant_scope(tenant):
        attempts = list(instalment.attempts.order_by("number"))
    # Each retry waits the policy's delay in TARGET business days after the failure.
    today = dt.date.today()  # a reject carries no date: it is applied as of today
    assert retry_dates == [add_business_days(today, days, Scheme.SEPA_CORE) for days in (3, 7, 14)]
    assert [a.collection_date for a in attempts][1:] == retry_dates
    final = events_of("instalment.failed", instalment.pk)[-1]
    assert final.payload["final"] is True and final.payload["retry_on"] is None


def test_a_refusal_by_the_debtor_is_presented_once_more_only(tenant, collections):
    _debt, _mandate, plan = collections.debt_in_plan()
    with tenant_scope(tenant):
        instalment = plan.instalments.get(sequence=1)
    run_on(tenant, instalment.submit_on)
    fail_current_attempt(tenant, instalment, "MS02")
    assert instalment.state == Instalment.State.RETRYING
    run_on(tenant, instalment.submit_on)
    fail_current_attempt(tenant, instalment, "MS02")
    assert instalment.state == Instalment.State.FAILED
    assert instalment.attempt_count == 2


def test_the_same_return_reported_twice_is_applied_once(tenant, collections):
    debt, _mandate, _plan, instalment = collected_first_instalment(tenant, collections, "sepa_core")
    attempt = latest_attempt(tenant, instalment)
    payments.record_direct_debit_return(
        payment=attempt.payment, reason_code="AM04", returned_on=RETURNED_ON, source="stripe"
    )
    assert not payments.record_direct_debit_return(
        payment=attempt.payment, reason_code="AM04", returned_on=RETURNED_ON, source="statement"
    )
    dispatch_pending()
    reload(tenant, debt, attempt)
    assert debt.amount_returned == 400
    assert attempt.payment.state == PaymentState.FAILED
    assert len(events_of("instalment.failed", instalment.pk)) == 1


def test_a_return_after_the_plan_completed_reopens_it_for_the_retry(tenant, collections):
    debt, _mandate, plan = collections.debt_in_plan(
        amount=500, count=1, first_date=dt.date(2024, 3, 1)
    )
    with tenant_scope(tenant):
        instalment = plan.instalments.get()
    run_on(tenant, LEAP_DAY)
    attempt = latest_attempt(tenant, instalment)
    payments.confirm_direct_debit(payment=attempt.payment, provisional_until=RETURNED_ON)
    dispatch_pending()
    reload(tenant, debt, plan)
    assert (debt.state, plan.state) == (Debt.State.PAID, PaymentPlan.State.COMPLETED)
    payments.record_direct_debit_return(
        payment=attempt.payment, reason_code="AM04", returned_on=RETURNED_ON, source="test"
    )
    dispatch_pending()
    reload(tenant, debt, plan, instalment)
    assert (debt.state, debt.balance) == (Debt.State.IN_PLAN, 500)
    assert plan.state == PaymentPlan.State.ACTIVE
    assert instalment.state == Instalment.State.RETRYING
