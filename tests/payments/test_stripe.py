"""The Stripe provider against the real SDK, with only api.stripe.com mocked."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import responses
import stripe
from django.test import Client
from django.utils import timezone

from hub.events.models import Event
from payments import selectors as payments_selectors
from payments import services
from payments.models import (
    LedgerAccount,
    LedgerTransaction,
    Payment,
    PaymentEvent,
    ProviderAccount,
    Refund,
    StripeEventReceipt,
)
from payments.services import stuck_payments
from tenants.scope import all_tenants, tenant_scope
from tests.payments.conftest import new_payment
from tests.payments.stripe_support import API, event, fixture, form, post_event

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_51TaxOfficeAbCdEfGhIjKlMnOpQrStUv"
WEBHOOK_SECRET = "whsec_TaxOfficeEndpointSecret0123456789"
SESSION = "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ"
INTENT = "pi_3QxYzAbCdEfGhIjK0aBcDeFg"


@pytest.fixture
def stripe_api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def stripe_account(tenant):
    with tenant_scope(tenant):
        return services.set_provider_credentials(
            account=ProviderAccount(tenant=tenant, provider="stripe"),
            secret_key=SECRET_KEY,
            webhook_secret=WEBHOOK_SECRET,
        )


def expect_session_created(stripe_api):
    def reply(request):
        payment_id = form(request)["client_reference_id"]
        return 200, {}, json.dumps(fixture("checkout_session_open", payment_id=payment_id))

    stripe_api.add_callback(
        responses.POST,
        f"{API}/v1/checkout/sessions",
        callback=reply,
        content_type="application/json",
    )


@pytest.fixture
def stripe_payment(tenant, service, stripe_account, stripe_api):
    expect_session_created(stripe_api)
    return new_payment(tenant, service, email="citizen@example.org")


def reload(tenant, payment) -> Payment:
    with tenant_scope(tenant):
        return Payment.objects.get(pk=payment.pk)


def timeline(tenant, payment) -> list[PaymentEvent]:
    with tenant_scope(tenant):
        return list(PaymentEvent.objects.filter(payment=payment))


def outbox(payment, type_) -> list[Event]:
    with all_tenants():
        return list(Event.objects.filter(subject_id=payment.pk, type=type_))


def intent(name: str, payment: Payment, **changes) -> dict:
    return {**fixture(name, payment_id=payment.pk), **changes}


def completed_session(payment: Payment) -> dict:
    return {
        **fixture("checkout_session_open", payment_id=payment.pk),
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": INTENT,
    }


# Creating a payment ---------------------------------------------------------------


def test_create_uses_a_checkout_session_with_the_agencys_own_key(stripe_payment, stripe_api):
    payment = stripe_payment
    assert payment.provider == "stripe" and payment.state == "created"
    assert payment.next_url.startswith("https://checkout.stripe.com/c/pay/" + SESSION)
    assert payment.provider_session_id == SESSION

    [call] = stripe_api.calls
    sent = form(call.request)
    assert call.request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert call.request.headers["Idempotency-Key"] == f"hub-payment-{payment.pk}"
    assert call.request.headers["Stripe-Version"] == stripe.api_version
    assert sent["mode"] == "payment"
    assert sent["line_items[0][price_data][unit_amount]"] == "8550"
    assert sent["line_items[0][price_data][currency]"] == "eur"
    assert sent["line_items[0][price_data][product_data][name]"] == "Passport renewal"
    assert sent["metadata[hub_payment_id]"] == payment.pk
    assert sent["payment_intent_data[metadata][hub_payment_id]"] == payment.pk
    assert sent["success_url"] == "https://agency.example/return"
    assert sent["customer_email"] == "citizen@example.org"
    assert int(sent["expires_at"]) == int(payment.expires_at.timestamp())
    assert stripe.api_key is None  # never the global key: agencies have their own


def test_each_agency_calls_stripe_with_its_own_key(
    tenant, other_tenant, service, other_service, stripe_account, stripe_api
):
    with tenant_scope(other_tenant):
        services.set_provider_credentials(
            account=ProviderAccount(tenant=other_tenant, provider="stripe"),
            secret_key="sk_test_51VehiclesXyZ",
        )
    expect_session_created(stripe_api)
    new_payment(tenant, service)
    new_payment(other_tenant, other_service)
    keys = [call.request.headers["Authorization"] for call in stripe_api.calls]
    assert keys == [f"Bearer {SECRET_KEY}", "Bearer sk_test_51VehiclesXyZ"]


def test_a_refusal_from_stripe_is_a_502_and_stores_nothing(
    api, service, stripe_account, stripe_api
):
    stripe_api.add(
        responses.POST,
        f"{API}/v1/checkout/sessions",
        status=401,
        json={
            "error": {
                "message": "Invalid API Key provided: sk_test_****StUv",
                "type": "invalid_request_error",
            }
        },
    )
    response = api.post(
        "/api/v1/payments",
        {
            "amount": 100,
            "currency": "EUR",
            "description": "x",
            "reference": "y",
            "service": service.pk,
        },
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_unavailable"
    assert SECRET_KEY not in response.content.decode()
    with all_tenants():
        assert not Payment.objects.exists()


def test_credentials_are_encrypted_at_rest(stripe_account):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret_key, webhook_secret FROM payments_provideraccount WHERE id = %s",
            [stripe_account.pk],
        )
        stored = cursor.fetchone()
    assert SECRET_KEY not in stored[0] and WEBHOOK_SECRET not in stored[1]
    assert stripe_account.secret_key == SECRET_KEY


# Inbound webhooks -----------------------------------------------------------------


def test_checkout_completed_succeeds_the_payment(tenant, stripe_payment, client):
    payment = stripe_payment
    response = post_event(
        client,
        tenant,
        event("checkout.session.completed", completed_session(payment)),
        WEBHOOK_SECRET,
    )
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "applied"}
    payment = reload(tenant, payment)
    assert payment.state == "success" and payment.provider_reference == INTENT
    assert payment.fee_recorded_at is None  # the stuck-payment check fetches the fee later
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.PROVIDER_CLEARING] == 8550
    assert len(outbox(payment, "payment.succeeded")) == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda headers, body: {**headers, "HTTP_STRIPE_SIGNATURE": "t=1,v1=deadbeef"},
        lambda headers, body: {},
        lambda headers, body: {**headers, "_body": body.replace("succeeded", "canceled")},
    ],
    ids=["wrong-signature", "no-header", "tampered-body"],
)
def test_bad_signature_is_400_and_changes_nothing(tenant, stripe_payment, client, mangle):
    from tests.payments.stripe_support import sign

    body = json.dumps(
        event("payment_intent.succeeded", intent("payment_intent_succeeded", stripe_payment))
    )
    headers = mangle({"HTTP_STRIPE_SIGNATURE": sign(body, WEBHOOK_SECRET)}, body)
    body = headers.pop("_body", body)
    response = client.post(
        f"/webhooks/stripe/{tenant.slug}/", data=body, content_type="application/json", **headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert reload(tenant, stripe_payment).state == "created"
    with all_tenants():
        assert not StripeEventReceipt.objects.exists()


def test_old_timestamp_wrong_secret_and_unknown_agency_are_refused(
    tenant, other_tenant, stripe_payment, client
):
    evt = event("payment_intent.succeeded", intent("payment_intent_succeeded", stripe_payment))
    stale = post_event(client, tenant, evt, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)
    assert stale.status_code == 400
    assert post_event(client, tenant, evt, "whsec_someoneElse0123456789").status_code == 400
    assert post_event(client, other_tenant, evt, WEBHOOK_SECRET).status_code == 400
    unknown = client.post(
        "/webhooks/stripe/no-such-agency/",
        data="{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=00",
    )
    assert unknown.status_code == 400
    assert reload(tenant, stripe_payment).state == "created"
    within = post_event(client, tenant, evt, WEBHOOK_SECRET, timestamp=int(time.time()) - 290)
    assert within.status_code == 200


def test_a_signature_dated_in_the_future_beyond_the_tolerance_is_refused(
    tenant, stripe_payment, client
):
    evt = event("payment_intent.succeeded", intent("payment_intent_succeeded", stripe_payment))
    ahead = post_event(client, tenant, evt, WEBHOOK_SECRET, timestamp=int(time.time()) + 3600)
    assert ahead.status_code == 400
    assert ahead.json()["error"]["code"] == "invalid_signature"
    just_over = post_event(client, tenant, evt, WEBHOOK_SECRET, timestamp=int(time.time()) + 330)
    assert just_over.status_code == 400
    assert reload(tenant, stripe_payment).state == "created"
    with all_tenants():
        assert not StripeEventReceipt.objects.exists()
    # A clock a little ahead of ours is fine.
    skewed = post_event(client, tenant, evt, WEBHOOK_SECRET, timestamp=int(time.time()) + 60)
    assert skewed.status_code == 200


def test_a_duplicate_event_is_applied_once(tenant, stripe_payment, client):
    evt = event("payment_intent.succeeded", intent("payment_intent_succeeded", stripe_payment))
    first = post_event(client, tenant, evt, WEBHOOK_SECRET)
    second = post_event(client, tenant, evt, WEBHOOK_SECRET)
    assert first.json()["outcome"] == "applied"
    assert second.status_code == 200 and second.json()["outcome"] == "duplicate"
    assert [e.to_state for e in timeline(tenant, stripe_payment)] == ["created", "success"]
    with tenant_scope(tenant):
        assert LedgerTransaction.objects.filter(reference=stripe_payment.pk).count() == 1
    assert len(outbox(stripe_payment, "payment.succeeded")) == 1


def test_a_late_processing_event_is_recorded_and_ignored(tenant, stripe_payment, client):
    succeeded = event(
        "payment_intent.succeeded", intent("payment_intent_succeeded", stripe_payment)
    )
    late = event("payment_intent.processing", intent("payment_intent_processing", stripe_payment))
    assert post_event(client, tenant, succeeded, WEBHOOK_SECRET).json()["outcome"] == "applied"
    answer = post_event(client, tenant, late, WEBHOOK_SECRET)
    assert answer.status_code == 200 and answer.json()["outcome"] == "recorded"
    assert reload(tenant, stripe_payment).state == "success"
    ignored = timeline(tenant, stripe_payment)[-1]
    assert (ignored.from_state, ignored.to_state, ignored.applied) == (
        "success",
        "submitted",
        False,
    )
    assert ignored.detail == {
        "stripe_event": late["id"],
        "stripe_event_type": "payment_intent.processing",
        "ignored": "not_allowed_from_state",
    }
    assert outbox(stripe_payment, "payment.submitted") == []


def test_in_order_processing_then_succeeded(tenant, stripe_payment, client):
    for name, kind in (
        ("payment_intent_processing", "payment_intent.processing"),
        ("payment_intent_succeeded", "payment_intent.succeeded"),
    ):
        post_event(client, tenant, event(kind, intent(name, stripe_payment)), WEBHOOK_SECRET)
    assert [e.to_state for e in timeline(tenant, stripe_payment)] == [
        "created",
        "submitted",
        "success",
    ]


def test_a_declined_attempt_is_noted_and_the_session_expiry_ends_it(tenant, stripe_payment, client):
    declined = event(
        "payment_intent.payment_failed", intent("payment_intent_payment_failed", stripe_payment)
    )
    assert post_event(client, tenant, declined, WEBHOOK_SECRET).json()["outcome"] == "recorded"
    payment = reload(tenant, stripe_payment)
    assert payment.state == "created"  # the payer may still try another card
    note = timeline(tenant, payment)[-1]
    assert note.detail["note"] == "attempt_declined_payer_may_retry"
    assert note.detail["failure_code"] == "insufficient_funds"

    expired = {**fixture("checkout_session_open", payment_id=payment.pk), "status": "expired"}
    post_event(client, tenant, event("checkout.session.expired", expired), WEBHOOK_SECRET)
    assert reload(tenant, payment).state == "expired"


def test_events_for_unknown_payments_and_types_are_acknowledged(tenant, stripe_account, client):
    stray = fixture("payment_intent_succeeded", payment_id="pay_notours")
    assert (
        post_event(client, tenant, event("payment_intent.succeeded", stray), WEBHOOK_SECRET).json()[
            "outcome"
        ]
        == "unknown_payment"
    )
    other = post_event(client, tenant, event("customer.created", {"id": "cus_1"}), WEBHOOK_SECRET)
    assert other.json()["outcome"] == "ignored_type"


# Refunds --------------------------------------------------------------------------


def succeeded(tenant, payment, client) -> Payment:
    evt = event("payment_intent.succeeded", intent("payment_intent_succeeded", payment))
    post_event(client, tenant, evt, WEBHOOK_SECRET)
    return reload(tenant, payment)


def expect_refund(stripe_api, name="refund_succeeded", status=200):
    def reply(request):
        sent = form(request)
        body = fixture(
            name,
            payment_id=sent["metadata[hub_payment_id]"],
            refund_id=sent["metadata[hub_refund_id]"],
        )
        body["amount"] = int(sent["amount"])
        return status, {}, json.dumps(body)

    stripe_api.add_callback(
        responses.POST, f"{API}/v1/refunds", callback=reply, content_type="application/json"
    )


def test_refund_through_stripe(tenant, stripe_payment, stripe_api, client):
    payment = succeeded(tenant, stripe_payment, client)
    expect_refund(stripe_api)
    with tenant_scope(tenant):
        refund = services.create_refund(payment=payment, amount=3000, reason="Withdrawn")
    assert refund.state == "success" and refund.provider_reference.startswith("re_")
    call = stripe_api.calls[-1]
    sent = form(call.request)
    assert sent == {
        "payment_intent": INTENT,
        "amount": "3000",
        "metadata[hub_refund_id]": refund.pk,
        "metadata[hub_payment_id]": payment.pk,
    }
    assert call.request.headers["Idempotency-Key"] == f"hub-refund-{refund.pk}"
    assert call.request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.REFUNDS] == 3000
    assert balances[LedgerAccount.PROVIDER_CLEARING] == 8550 - 3000


def test_a_pending_refund_is_settled_by_its_webhook_once(
    tenant, stripe_payment, stripe_api, client
):
    payment = succeeded(tenant, stripe_payment, client)
    expect_refund(stripe_api, "refund_pending")
    with tenant_scope(tenant):
        refund = services.create_refund(payment=payment, amount=3000)
    assert refund.state == "submitted"
    assert reload(tenant, payment).amount_refundable == 8550 - 3000  # reserved meanwhile

    done = fixture("refund_succeeded", payment_id=payment.pk, refund_id=refund.pk)
    evt = event("refund.updated", done)
    assert post_event(client, tenant, evt, WEBHOOK_SECRET).json()["outcome"] == "applied"
    again = event("charge.refund.updated", done)
    assert post_event(client, tenant, again, WEBHOOK_SECRET).json()["outcome"] == "recorded"
    with tenant_scope(tenant):
        refund.refresh_from_db()
        assert LedgerTransaction.objects.filter(kind="refund").count() == 1
    assert refund.state == "success"
    with all_tenants():
        assert Event.objects.filter(type="refund.succeeded", subject_id=refund.pk).count() == 1


def test_a_refund_stripe_refuses_is_an_error_and_releases_the_amount(
    tenant, stripe_payment, stripe_api, client
):
    payment = succeeded(tenant, stripe_payment, client)
    stripe_api.add(
        responses.POST,
        f"{API}/v1/refunds",
        status=400,
        json=fixture("error_charge_already_refunded"),
    )
    with tenant_scope(tenant):
        refund = services.create_refund(payment=payment, amount=8550)
    assert refund.state == "error" and refund.failure_code == "charge_already_refunded"
    assert reload(tenant, payment).amount_refundable == 8550
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.REFUNDS]
        == 0
    )
    with all_tenants():
        [failed] = Event.objects.filter(type="refund.failed", subject_id=refund.pk)
    assert failed.payload["failure_code"] == "charge_already_refunded"


# The stuck-payment check, expiry and cancellation ---------------------------------------------


def expanded_paid_session(payment: Payment) -> dict:
    charge = fixture("charge_with_balance_transaction", payment_id=payment.pk)
    paid_intent = {
        **fixture("payment_intent_succeeded", payment_id=payment.pk),
        "latest_charge": charge,
    }
    return {**completed_session(payment), "payment_intent": paid_intent}


def test_janitor_resolves_a_payment_stuck_in_submitted(tenant, stripe_payment, stripe_api, client):
    processing = event(
        "payment_intent.processing", intent("payment_intent_processing", stripe_payment)
    )
    post_event(client, tenant, processing, WEBHOOK_SECRET)
    stripe_api.add(
        responses.GET,
        f"{API}/v1/checkout/sessions/{SESSION}",
        json=expanded_paid_session(stripe_payment),
    )
    assert stuck_payments.run().payments_changed == 0  # not stuck for long enough yet
    report = stuck_payments.run(now=timezone.now() + timedelta(minutes=11))
    assert report.payments_changed == 1 and report.errors == 0
    assert "expand" in stripe_api.calls[-1].request.url
    payment = reload(tenant, stripe_payment)
    assert payment.state == "success" and payment.fee == 145
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.FEES] == 145
    assert balances[LedgerAccount.PROVIDER_CLEARING] == 8550 - 145
    assert timeline(tenant, payment)[-1].source == "janitor"


def test_janitor_fetches_the_fee_of_a_webhook_success(tenant, stripe_payment, stripe_api, client):
    succeeded(tenant, stripe_payment, client)
    stripe_api.add(
        responses.GET,
        f"{API}/v1/checkout/sessions/{SESSION}",
        json=expanded_paid_session(stripe_payment),
    )
    report = stuck_payments.run(now=timezone.now() + timedelta(minutes=6))
    assert report.fees_recorded == 1
    assert stuck_payments.run(now=timezone.now() + timedelta(minutes=7)).fees_recorded == 0
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.FEES] == 145
    )
    assert len(stripe_api.calls) == 2  # create + one look-up: recorded fees are not re-fetched


def test_janitor_survives_stripe_being_down(tenant, stripe_payment, stripe_api, client):
    processing = event(
        "payment_intent.processing", intent("payment_intent_processing", stripe_payment)
    )
    post_event(client, tenant, processing, WEBHOOK_SECRET)
    stripe_api.add(
        responses.GET,
        f"{API}/v1/checkout/sessions/{SESSION}",
        status=401,
        json={"error": {"message": "Invalid API Key provided", "type": "invalid_request_error"}},
    )
    report = stuck_payments.run(now=timezone.now() + timedelta(minutes=11))
    assert report.errors == 1 and reload(tenant, stripe_payment).state == "submitted"


def test_expiry_expires_the_checkout_session(tenant, stripe_payment, stripe_api):
    stripe_api.add(
        responses.POST,
        f"{API}/v1/checkout/sessions/{SESSION}/expire",
        json={
            **fixture("checkout_session_open", payment_id=stripe_payment.pk),
            "status": "expired",
        },
    )
    assert services.expire_overdue_payments(now=timezone.now() + timedelta(minutes=91)) == 1
    assert reload(tenant, stripe_payment).state == "expired"


def test_expiry_finds_the_payer_paid_just_in_time(tenant, stripe_payment, stripe_api):
    stripe_api.add(
        responses.POST,
        f"{API}/v1/checkout/sessions/{SESSION}/expire",
        status=400,
        json=fixture("error_session_not_open"),
    )
    stripe_api.add(
        responses.GET,
        f"{API}/v1/checkout/sessions/{SESSION}",
        json=expanded_paid_session(stripe_payment),
    )
    assert services.expire_overdue_payments(now=timezone.now() + timedelta(minutes=91)) == 0
    payment = reload(tenant, stripe_payment)
    assert payment.state == "success" and payment.fee == 145


def test_cancel_over_the_api_expires_the_session(api, tenant, stripe_payment, stripe_api):
    stripe_api.add(
        responses.POST,
        f"{API}/v1/checkout/sessions/{SESSION}/expire",
        json={
            **fixture("checkout_session_open", payment_id=stripe_payment.pk),
            "status": "expired",
        },
    )
    response = api.post(f"/api/v1/payments/{stripe_payment.pk}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"


def test_the_return_page_of_a_stripe_payment_only_reports(tenant, stripe_payment):
    from payments.providers.sandbox import payment_page_url
    from tests.payments.conftest import page_path

    page = Client().get(page_path(payment_page_url(stripe_payment)))
    assert page.status_code == 200
    assert "We are confirming your payment" in page.content.decode()
    assert "card_number" not in page.content.decode()


# Direct debits through Stripe -----------------------------------------------------


def test_direct_debit_success_and_late_return_via_webhooks(
    tenant, service, stripe_account, client, default_return_window
):
    with tenant_scope(tenant):
        payment = services.create_payment(
            tenant=tenant,
            service=service,
            amount=8550,
            currency="EUR",
            description="Instalment",
            reference="PLAN-1/1",
            method="direct_debit",
            provider="stripe",
        )
        services.submit_direct_debit(payment=payment, provider_reference=INTENT)
    sepa = {"payment_method_types": ["sepa_debit"], "metadata": {}}  # found by its reference
    post_event(
        client,
        tenant,
        event("payment_intent.succeeded", intent("payment_intent_succeeded", payment, **sepa)),
        WEBHOOK_SECRET,
    )
    payment = reload(tenant, payment)
    assert payment.state == "success"
    assert payment.provisional_until == timezone.localdate() + timedelta(days=8)

    failed = intent(
        "payment_intent_payment_failed",
        payment,
        **sepa,
        last_payment_error={"code": "insufficient_funds", "message": "Insufficient funds"},
    )
    post_event(client, tenant, event("payment_intent.payment_failed", failed), WEBHOOK_SECRET)
    charge = {
        **fixture("charge_with_balance_transaction", payment_id=payment.pk),
        "status": "failed",
        "failure_code": "insufficient_funds",
        "failure_message": "Insufficient funds",
        "metadata": {},
    }
    post_event(client, tenant, event("charge.failed", charge), WEBHOOK_SECRET)

    payment = reload(tenant, payment)
    assert payment.state == "failed" and payment.failure_code == "insufficient_funds"
    [returned] = outbox(payment, "payment.failed")
    assert (
        returned.payload["return"] is True and returned.payload["return_source"] == "stripe_webhook"
    )
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.REVENUE]
        == 0
    )
    assert payments_selectors.ledger_is_balanced(tenant=tenant)


def test_a_refund_left_submitted_is_resolved_by_the_janitor(
    tenant, stripe_payment, stripe_api, client
):
    """A crash (or timeout) between reserving a refund and hearing from Stripe."""
    payment = succeeded(tenant, stripe_payment, client)
    with tenant_scope(tenant):
        refund = Refund.objects.create(tenant=tenant, payment=payment, amount=500)
        Payment.objects.filter(pk=payment.pk).update(amount_refunded=500)
    listed = {"object": "list", "data": [], "has_more": False, "url": "/v1/refunds"}
    stripe_api.add(responses.GET, f"{API}/v1/refunds", json=listed)
    expect_refund(stripe_api)
    report = stuck_payments.run(now=timezone.now() + timedelta(minutes=11))
    assert report.refunds_settled == 1
    with tenant_scope(tenant):
        refund.refresh_from_db()
    assert refund.state == "success"
    # Asked again under the same idempotency key: Stripe cannot refund twice.
    assert stripe_api.calls[-1].request.headers["Idempotency-Key"] == f"hub-refund-{refund.pk}"
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.REFUNDS]
        == 500
    )


def test_janitor_asks_about_a_slow_direct_debit_at_most_every_half_hour(
    tenant, service, stripe_account, stripe_api
):
    with tenant_scope(tenant):
        payment = services.create_payment(
            tenant=tenant,
            service=service,
            amount=8550,
            currency="EUR",
            description="Instalment",
            reference="PLAN-1/2",
            method="direct_debit",
            provider="stripe",
        )
        services.submit_direct_debit(payment=payment, provider_reference=INTENT)
    processing = intent("payment_intent_processing", payment, payment_method_types=["sepa_debit"])
    stripe_api.add(responses.GET, f"{API}/v1/payment_intents/{INTENT}", json=processing)
    start = timezone.now()
    assert stuck_payments.run(now=start + timedelta(minutes=11)).payments_changed == 0
    assert stuck_payments.run(now=start + timedelta(minutes=12)).payments_changed == 0
    [call] = stripe_api.calls
    assert "expand" in call.request.url
    assert reload(tenant, payment).state == "submitted"


def test_a_payout_is_credited_to_the_stripe_account_whose_secret_signed_it(
    tenant, service, stripe_account, client
):
    with tenant_scope(tenant):
        own_account = services.set_provider_credentials(
            account=ProviderAccount(tenant=tenant, provider="stripe", service=service),
            secret_key="sk_test_51ParkingServiceOwnStripeAccount",
            webhook_secret="whsec_ParkingServiceOwnEndpointSecret01",
        )
    signed_with = {
        "po_1Parking": ("whsec_ParkingServiceOwnEndpointSecret01", own_account),
        "po_1Default": (WEBHOOK_SECRET, stripe_account),
    }
    for payout_id, (secret, _) in signed_with.items():
        payout = {"id": payout_id, "object": "payout", "amount": 5000, "currency": "eur"}
        response = post_event(client, tenant, event("payout.paid", payout), secret)
        assert response.json()["outcome"] == "published"

    with tenant_scope(tenant):
        published = Event.objects.filter(type="payout.paid")
        credited = {e.payload["payout_id"]: e.payload["provider_account"] for e in published}
    assert credited == {payout_id: account.pk for payout_id, (_, account) in signed_with.items()}


def test_payout_paid_is_handed_to_reconciliation_through_the_outbox(tenant, stripe_account, client):
    from hub.events.models import Event

    payout = {
        "id": "po_1QXyZ2",
        "object": "payout",
        "amount": 118450,
        "currency": "eur",
        "arrival_date": 1764201600,
        "status": "paid",
        "automatic": True,
    }
    response = post_event(client, tenant, event("payout.paid", payout), WEBHOOK_SECRET)
    assert response.status_code == 200 and response.json()["outcome"] == "published"
    with tenant_scope(tenant):
        [published] = Event.objects.filter(type="payout.paid")
    assert published.payload["payout_id"] == "po_1QXyZ2"
    assert published.payload["provider_account"] == stripe_account.pk
    from hub.events.subscribers import subscribers_for

    assert [s.name for s in subscribers_for("payout.paid")] == ["reconciliation.import_paid_payout"]
