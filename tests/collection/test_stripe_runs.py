"""Runs through Stripe: off-session PaymentIntents confirmed on the agency's own key.

The real Stripe SDK talks to a mocked api.stripe.com (``responses``) that serves
hand-written, Stripe-shaped JSON; outcomes come back as signed Stripe webhooks through the
payments app, exactly as in production.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses

from collection.models import (
    CollectionAttempt,
    CollectionChunk,
    CollectionRun,
    Instalment,
    Mandate,
)
from collection.services import mandates, runs
from payments.models import PaymentState, ProviderAccount
from tenants.scope import tenant_scope
from tests.collection.conftest import dispatch_pending
from tests.payments.stripe_support import event, post_event

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
INTENTS = "https://api.stripe.com/v1/payment_intents"
LEAP_DAY = dt.date(2024, 2, 29)
WEBHOOK_SECRET = "whsec_collections_test"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def intent_for(attempt: CollectionAttempt, **changes) -> dict:
    intent = fixture("stripe_payment_intent_sepa_processing.json")
    intent["id"] = f"pi_{attempt.pk[4:]}"
    intent["amount"] = attempt.amount
    intent["metadata"] = {"hub_payment_id": attempt.payment_id, "collection_attempt": attempt.pk}
    intent.update(changes)
    return intent


def form(request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.body).items()}


def start(tenant, run_date=LEAP_DAY) -> CollectionRun:
    with tenant_scope(tenant):
        return runs.start_run(tenant=tenant, run_date=run_date, trigger="api", enqueue=False)


def process(tenant, run) -> CollectionRun:
    with tenant_scope(tenant):
        return runs.process_run(run=run)


def attempts_of(tenant, run) -> list[CollectionAttempt]:
    with tenant_scope(tenant):
        return list(
            CollectionAttempt.objects.filter(run=run).select_related("payment", "instalment")
        )


def answer_with_intents(mock, tenant):
    """Stripe's answer: a processing PaymentIntent for whatever attempt asked."""

    def reply(request):
        metadata = form(request)
        with tenant_scope(tenant):
            attempt = CollectionAttempt.objects.get(pk=metadata["metadata[collection_attempt]"])
        return 200, {"Request-Id": "req_ok"}, json.dumps(intent_for(attempt))

    mock.add_callback(responses.POST, INTENTS, callback=reply, content_type="application/json")


def test_each_collection_confirms_an_off_session_payment_intent(tenant, stripe_collections):
    _debt, mandate, _plan = stripe_collections.debt_in_plan(amount=1200)
    run = start(tenant)
    with responses.RequestsMock() as mock:
        answer_with_intents(mock, tenant)
        run = process(tenant, run)
        [call] = mock.calls
    [attempt] = attempts_of(tenant, run)
    sent = form(call.request)
    assert call.request.headers["Authorization"] == "Bearer sk_test_collections"
    assert call.request.headers["Idempotency-Key"] == (f"hub-collection-{attempt.instalment_id}-1")
    assert sent["amount"] == "400" and sent["currency"] == "eur"
    assert sent["payment_method_types[0]"] == "sepa_debit"
    assert sent["payment_method"] == mandate.stripe_payment_method
    assert sent["mandate"] == mandate.stripe_mandate
    assert sent["customer"] == mandate.stripe_customer
    assert (sent["confirm"], sent["off_session"]) == ("true", "true")
    assert sent["metadata[hub_payment_id]"] == attempt.payment_id
    assert run.state == CollectionRun.State.COMPLETED and run.submitted_count == 1
    assert attempt.state == CollectionAttempt.State.SUBMITTED
    assert attempt.payment.state == PaymentState.SUBMITTED
    assert attempt.payment.provider == "stripe"
    assert attempt.payment.provider_reference == f"pi_{attempt.pk[4:]}"
    assert not run.file  # nothing for a bank: Stripe has it


def test_stripe_webhooks_bring_the_outcome_back(client, tenant, stripe_collections):
    with tenant_scope(tenant):
        ProviderAccount.objects.filter(tenant=tenant).update(webhook_secret=WEBHOOK_SECRET)
    debt, _mandate, _plan = stripe_collections.debt_in_plan(amount=1200)
    run = start(tenant)
    with responses.RequestsMock() as mock:
        answer_with_intents(mock, tenant)
        process(tenant, run)
    [attempt] = attempts_of(tenant, run)

    succeeded = event("payment_intent.succeeded", intent_for(attempt, status="succeeded"))
    assert post_event(client, tenant, succeeded, WEBHOOK_SECRET).status_code == 200
    dispatch_pending()
    with tenant_scope(tenant):
        attempt.refresh_from_db()
        attempt.payment.refresh_from_db()
        debt.refresh_from_db()
    assert attempt.state == CollectionAttempt.State.COLLECTED
    assert debt.balance == 800
    # Stripe says "collected"; the scheme's return window (TARGET D+5) still applies.
    collected_on = attempt.payment.provisional_until
    assert collected_on is not None and collected_on > dt.date.today()

    # Days later the debit comes back: Stripe reports it as a failed charge.
    charge = {
        "id": "py_3RsEpAbCdEfGhIjK1cHaRgE1",
        "object": "charge",
        "payment_intent": attempt.payment.provider_reference,
        "status": "failed",
        "failure_code": "insufficient_funds",
        "failure_message": "The customer's account has insufficient funds.",
        "metadata": {"hub_payment_id": attempt.payment_id},
    }
    assert (
        post_event(client, tenant, event("charge.failed", charge), WEBHOOK_SECRET).status_code
        == 200
    )
    dispatch_pending()
    with tenant_scope(tenant):
        attempt.refresh_from_db()
        instalment = Instalment.objects.get(pk=attempt.instalment_id)
        debt.refresh_from_db()
    assert attempt.state == CollectionAttempt.State.FAILED and attempt.returned
    assert attempt.failure_code == "AM04"  # Stripe's code, in the scheme's own words
    assert instalment.state == Instalment.State.RETRYING
    assert (debt.balance, debt.amount_collected, debt.amount_returned) == (1200, 400, 400)


def test_a_refused_payment_intent_fails_the_payment_and_the_rules_apply(tenant, stripe_collections):
    _debt, mandate, _plan = stripe_collections.debt_in_plan()
    run = start(tenant)
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            INTENTS,
            json=fixture("stripe_error_mandate_inactive.json"),
            status=400,
        )
        run = process(tenant, run)
    dispatch_pending()
    [attempt] = attempts_of(tenant, run)
    with tenant_scope(tenant):
        instalment = Instalment.objects.get(pk=attempt.instalment_id)
        mandate.refresh_from_db()
    assert run.state == CollectionRun.State.COMPLETED
    assert run.declined_count == 1 and run.submitted_count == 0
    assert attempt.payment.state == PaymentState.FAILED
    assert attempt.provider_error.startswith("payment_intent_mandate_invalid")
    # Not a scheme code anyone knows: stopped for a caseworker, the mandate left alone.
    assert attempt.failure_action == "stop"
    assert instalment.state == Instalment.State.FAILED
    assert mandate.state == Mandate.State.ACTIVE


def test_stripe_unavailable_leaves_the_attempt_pending_and_a_rerun_reuses_the_key(
    tenant, stripe_collections
):
    stripe_collections.debt_in_plan()
    run = start(tenant)
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            INTENTS,
            json=fixture("stripe_error_api.json"),
            status=500,
            headers={"Stripe-Should-Retry": "false"},
        )
        run = process(tenant, run)
        first_key = mock.calls[0].request.headers["Idempotency-Key"]
    [attempt] = attempts_of(tenant, run)
    assert run.state == CollectionRun.State.RUNNING
    assert attempt.state == CollectionAttempt.State.PENDING
    assert "APIError" in attempt.provider_error
    with tenant_scope(tenant):
        assert CollectionChunk.objects.get(run=run).state == CollectionChunk.State.PENDING

    with responses.RequestsMock() as mock:
        answer_with_intents(mock, tenant)
        run = process(tenant, run)
        [call] = mock.calls
    assert call.request.headers["Idempotency-Key"] == first_key
    [attempt] = attempts_of(tenant, run)
    assert run.state == CollectionRun.State.COMPLETED
    assert attempt.state == CollectionAttempt.State.SUBMITTED and attempt.provider_error == ""


def test_bacs_mandates_wait_three_business_days_then_collect_gbp(tenant, stripe_collections):
    constituent = stripe_collections.constituent()
    # Lodged Friday 20 December 2024: business days 23 and 24 December, then Christmas and
    # Boxing Day are Bacs holidays, so the third business day is Friday 27 December.
    mandate = stripe_collections.mandate(constituent, scheme="bacs", today=dt.date(2024, 12, 20))
    assert mandate.state == Mandate.State.PENDING
    assert mandate.active_from == dt.date(2024, 12, 27)
    with tenant_scope(tenant):
        assert mandates.activate_due_mandates(tenant=tenant, today=dt.date(2024, 12, 26)) == 0
        assert mandates.activate_due_mandates(tenant=tenant, today=dt.date(2024, 12, 27)) == 1

    debt = stripe_collections.debt(amount=3000, currency="GBP", constituent=constituent)
    stripe_collections.plan(
        debt, mandate, count=2, first_date=dt.date(2025, 1, 15), today=dt.date(2024, 12, 30)
    )
    # Due Wednesday 15 January: Bacs input two business days before, Monday 13 January.
    run = start(tenant, dt.date(2025, 1, 13))
    with responses.RequestsMock() as mock:
        answer_with_intents(mock, tenant)
        run = process(tenant, run)
        sent = form(mock.calls[0].request)
    assert sent["payment_method_types[0]"] == "bacs_debit"
    assert (sent["currency"], sent["amount"]) == ("gbp", "1500")
    [attempt] = attempts_of(tenant, run)
    assert attempt.collection_date == dt.date(2025, 1, 15)
    assert run.totals == {"GBP": {"count": 1, "amount": 1500}}
