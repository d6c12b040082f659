"""The sandbox provider end to end, over HTTP as an agency and a payer would use it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from payments import selectors as payments_selectors
from payments import services
from payments.models import LedgerAccount, Payment, PaymentEvent
from payments.tasks import expire_unfinished_payments
from tenants.scope import all_tenants, tenant_scope
from tests.payments.conftest import (
    DECLINED_CARD,
    PROCESSING_ERROR_CARD,
    SUCCESS_CARD,
    card_form,
    deliver_everything,
    new_payment,
    page_path,
)

pytestmark = pytest.mark.django_db
PAYLOAD_KEYS = {
    "id",
    "amount",
    "currency",
    "state",
    "method",
    "reference",
    "service",
    "provider",
    "provider_reference",
    "failure_code",
    "metadata",
}


def create_over_api(api, service, **overrides):
    body = {
        "amount": 8550,
        "currency": "EUR",
        "description": "Passport renewal",
        "reference": "PASS-0001",
        "service": service.pk,
        "return_url": "https://agency.example/return?case=17",
        "email": "citizen@example.org",
        "metadata": {"case": 17, "office": "north"},
        **overrides,
    }
    response = api.post("/api/v1/payments", body)
    assert response.status_code == 201, response.content
    return response.json()


def pay_in_browser(next_url: str, number: str):
    """A payer's browser: CSRF enforced exactly as in production."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(page_path(next_url))
    assert page.status_code == 200, page.content
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    return page, browser.post(
        page_path(next_url), {**card_form(number), "csrfmiddlewaretoken": token}
    )


def test_full_journey_create_pay_webhook_refund_ledger(api, tenant, service, receivers):
    receiver = receivers()
    endpoint = api.post(
        "/api/v1/webhook-endpoints",
        {"url": receiver.url, "event_types": ["payment.*", "refund.*"]},
    )
    receiver.secret = endpoint.json()["secret"]

    created = create_over_api(api, service)
    assert created["id"].startswith("pay_")
    assert created["state"] == "created" and created["finished"] is False
    assert created["next_url"].startswith(settings.HUB_PUBLIC_URL + "/pay/")
    assert created["provider"] == "sandbox" and created["method"] == "card"

    page, done = pay_in_browser(created["next_url"], SUCCESS_CARD)
    html = page.content.decode()
    assert "Enter card details" in html and "€85.50" in html and "Passport renewal" in html
    assert page["Referrer-Policy"] == "same-origin"
    assert "no-store" in page["Cache-Control"]
    assert done.status_code == 303
    assert done["Location"] == "https://agency.example/return?case=17"

    paid = api.get(f"/api/v1/payments/{created['id']}").json()
    assert paid["state"] == "success" and paid["finished"] is True
    assert paid["next_url"] is None  # nothing left to pay
    assert paid["amount_refundable"] == 8550

    deliver_everything()
    received = [r.json for r in receiver.verified()]
    assert [r["type"] for r in received] == [
        "payment.created",
        "payment.started",
        "payment.submitted",
        "payment.succeeded",
    ]
    succeeded = received[-1]["data"]
    assert set(succeeded) >= PAYLOAD_KEYS
    assert succeeded["id"] == created["id"] and succeeded["state"] == "success"
    assert succeeded["metadata"] == {"case": 17, "office": "north"}

    partial = api.post(f"/api/v1/payments/{created['id']}/refunds", {"amount": 3000})
    assert partial.status_code == 201, partial.content
    assert partial.json()["state"] == "success" and partial.json()["id"].startswith("ref_")
    rest = api.post(
        f"/api/v1/payments/{created['id']}/refunds", {"amount": 5550, "reason": "Withdrawn"}
    )
    assert rest.status_code == 201 and rest.json()["state"] == "success"
    too_much = api.post(f"/api/v1/payments/{created['id']}/refunds", {"amount": 1})
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "refund_exceeds_available"

    listed = api.get(f"/api/v1/payments/{created['id']}/refunds").json()["results"]
    assert sorted(r["amount"] for r in listed) == [3000, 5550]
    assert api.get(f"/api/v1/payments/{created['id']}").json()["amount_refundable"] == 0

    deliver_everything()
    refund_events = [r.json for r in receiver.verified() if r.json["type"].startswith("refund.")]
    assert [e["type"] for e in refund_events] == ["refund.succeeded", "refund.succeeded"]

    assert payments_selectors.ledger_is_balanced(tenant=tenant)
    balances = payments_selectors.ledger_balances(tenant=tenant, currency="EUR")
    assert balances[LedgerAccount.PROVIDER_CLEARING] == 0  # collected 8550, refunded 8550
    assert balances[LedgerAccount.REVENUE] == -8550
    assert balances[LedgerAccount.REFUNDS] == 8550

    timeline = api.get(f"/api/v1/payments/{created['id']}/events").json()["results"]
    assert [(e["from_state"], e["to_state"]) for e in timeline] == [
        ("", "created"),
        ("created", "started"),
        ("started", "submitted"),
        ("submitted", "success"),
    ]
    assert timeline[2]["detail"] == {"card_last4": "4242"}


@pytest.mark.parametrize(
    "number,state,code",
    [
        (DECLINED_CARD, "failed", "card_declined"),
        (PROCESSING_ERROR_CARD, "error", "processing_error"),
    ],
)
def test_declined_and_processing_error_cards(api, tenant, service, number, state, code):
    created = create_over_api(api, service)
    _, done = pay_in_browser(created["next_url"], number)
    # Explained on the hub's page, with the way back to the agency; not a silent redirect.
    assert done.status_code == 200
    html = done.content.decode()
    heading = {"failed": "Your payment was declined", "error": "problem with the payment"}
    assert heading[state] in html and 'href="https://agency.example/return?case=17"' in html
    payment = api.get(f"/api/v1/payments/{created['id']}").json()
    assert payment["state"] == state and payment["failure_code"] == code
    assert payment["failure_message"]
    assert payment["finished"] is True
    # No money moved: nothing in the ledger.
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.REVENUE]
        == 0
    )
    refund = api.post(f"/api/v1/payments/{created['id']}/refunds", {"amount": 100})
    assert refund.status_code == 409
    assert refund.json()["error"]["code"] == "payment_not_refundable"


def test_unknown_card_number_is_refused_and_changes_nothing(api, tenant, service):
    created = create_over_api(api, service)
    _, answer = pay_in_browser(created["next_url"], "4111 1111 1111 1111")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "There is a problem" in html and "not a sandbox test card" in html
    assert 'aria-invalid="true"' in html
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "started"


def test_form_errors_are_listed_and_linked(api, service):
    created = create_over_api(api, service)
    browser = Client()
    response = browser.post(
        page_path(created["next_url"]), card_form(SUCCESS_CARD, security_code="x", expiry_year="")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_security_code"' in html and 'href="#id_expiry_year"' in html
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "created"


def test_form_without_csrf_token_is_rejected(api, service):
    created = create_over_api(api, service)
    browser = Client(enforce_csrf_checks=True)
    browser.get(page_path(created["next_url"]))
    response = browser.post(page_path(created["next_url"]), card_form(SUCCESS_CARD))
    assert response.status_code == 403
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "started"


def test_unknown_token_is_404(client):
    assert client.get("/pay/not-a-real-token/").status_code == 404


def test_a_paid_payment_cannot_be_paid_again(api, service):
    created = create_over_api(api, service)
    pay_in_browser(created["next_url"], SUCCESS_CARD)
    browser = Client()
    again = browser.get(page_path(created["next_url"]))
    assert again.status_code == 410
    assert "already been made" in again.content.decode()
    post = browser.post(page_path(created["next_url"]), card_form(SUCCESS_CARD))
    assert post.status_code == 410


def test_without_return_url_the_page_shows_the_outcome(api, service):
    created = create_over_api(api, service, return_url="")
    _, done = pay_in_browser(created["next_url"], SUCCESS_CARD)
    assert done.status_code == 200
    assert "Payment successful" in done.content.decode()


def test_expiry_by_the_beat_task(api, tenant, other_tenant, service, other_service, receivers):
    receiver = receivers()
    receiver.secret = api.post(
        "/api/v1/webhook-endpoints", {"url": receiver.url, "event_types": ["payment.expired"]}
    ).json()["secret"]
    old = create_over_api(api, service)
    fresh = create_over_api(api, service)
    theirs = new_payment(other_tenant, other_service)
    paid = create_over_api(api, service)
    pay_in_browser(paid["next_url"], SUCCESS_CARD)
    Client().get(page_path(old["next_url"]))  # started: still unfinished
    with all_tenants():
        overdue = timezone.now() - timedelta(minutes=1)
        Payment.objects.filter(pk__in=[old["id"], theirs.pk, paid["id"]]).update(expires_at=overdue)

    assert expire_unfinished_payments() == 2
    assert expire_unfinished_payments() == 0  # a second run changes nothing

    states = {
        p: api.get(f"/api/v1/payments/{p}").json()["state"]
        for p in (old["id"], fresh["id"], paid["id"])
    }
    assert states == {old["id"]: "expired", fresh["id"]: "created", paid["id"]: "success"}
    with tenant_scope(other_tenant):
        theirs.refresh_from_db()
    assert theirs.state == "expired"
    assert Client().get(page_path(old["next_url"])).status_code == 410
    deliver_everything()
    assert [r.json["data"]["id"] for r in receiver.verified()] == [old["id"]]


def test_expiry_default_is_ninety_minutes(tenant, service):
    payment = new_payment(tenant, service)
    assert settings.HUB_PAYMENT_EXPIRY_MINUTES == 90
    assert payment.expires_at - payment.created_at == timedelta(minutes=90)


def test_page_opened_after_expiry_expires_the_payment(api, tenant, service):
    created = create_over_api(api, service)
    with all_tenants():
        Payment.objects.filter(pk=created["id"]).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    assert Client().get(page_path(created["next_url"])).status_code == 410
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "expired"


def test_cancel(api, tenant, service, receivers):
    created = create_over_api(api, service)
    cancelled = api.post(f"/api/v1/payments/{created['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["next_url"] is None
    again = api.post(f"/api/v1/payments/{created['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "payment_not_cancellable"
    assert Client().get(page_path(created["next_url"])).status_code == 410


def test_a_paid_payment_cannot_be_cancelled(api, service):
    created = create_over_api(api, service)
    pay_in_browser(created["next_url"], SUCCESS_CARD)
    response = api.post(f"/api/v1/payments/{created['id']}/cancel")
    assert response.status_code == 409
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "success"


def test_a_late_transition_is_recorded_as_ignored(tenant, service):
    from payments.providers.base import ProviderStatus
    from payments.services import outcomes

    payment = new_payment(tenant, service)
    with tenant_scope(tenant):
        services.cancel_payment(payment=payment)
        applied = outcomes.apply_provider_status(
            payment=payment, status=ProviderStatus("success"), source="test"
        )
        assert applied is False
        payment.refresh_from_db()
        last = PaymentEvent.objects.filter(payment=payment).last()
    assert payment.state == "cancelled"
    assert (last.from_state, last.to_state, last.applied) == ("cancelled", "success", False)
    assert last.detail["ignored"] == "not_allowed_from_state"
    assert (
        payments_selectors.ledger_balances(tenant=tenant, currency="EUR")[LedgerAccount.REVENUE]
        == 0
    )


def test_a_browser_posting_with_its_origin_can_pay(api, service):
    """Browsers send Origin on every POST; it must match the page, and never be "null"."""
    created = create_over_api(api, service)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(page_path(created["next_url"]))
    assert page["Referrer-Policy"] == "same-origin"
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    form = {**card_form(SUCCESS_CARD), "csrfmiddlewaretoken": token}
    # What a browser sent under the old "no-referrer" policy: refused, nothing changes.
    refused = browser.post(page_path(created["next_url"]), form, HTTP_ORIGIN="null")
    assert refused.status_code == 403
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "started"
    paid = browser.post(page_path(created["next_url"]), form, HTTP_ORIGIN="http://testserver")
    assert paid.status_code == 303 and paid["Location"] == "https://agency.example/return?case=17"
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "success"


def test_the_form_may_post_to_the_hub_and_redirect_only_to_the_agency(api, service):
    created = create_over_api(api, service)
    policy = Client().get(page_path(created["next_url"]))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["form-action"].split() == ["'self'", "https://agency.example"]
    assert directives["default-src"] == "'none'"


def test_empty_form_says_what_to_enter_for_each_field(api, service):
    created = create_over_api(api, service)
    html = Client().post(page_path(created["next_url"]), {}).content.decode()
    for message in (
        "Enter the card number",
        "Enter the expiry month",
        "Enter the expiry year",
        "Enter the name as it appears on the card",
        "Enter the card security code",
    ):
        assert html.count(message) == 2, message  # once in the summary, once at the field
    assert "This field is required" not in html


def test_month_13_is_not_a_real_month(api, service):
    created = create_over_api(api, service)
    answer = Client().post(
        page_path(created["next_url"]), card_form(SUCCESS_CARD, expiry_month="13")
    )
    assert "Enter a real expiry month" in answer.content.decode()
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "created"


@pytest.mark.parametrize(
    "number,heading",
    [
        (SUCCESS_CARD, "This payment has already been made"),
        (DECLINED_CARD, "This payment was declined"),
        (PROCESSING_ERROR_CARD, "This payment did not go through"),
    ],
)
def test_a_finished_link_opened_again_says_what_happened(api, service, number, heading):
    created = create_over_api(api, service)
    pay_in_browser(created["next_url"], number)
    again = Client().get(page_path(created["next_url"]))
    assert again.status_code == 410
    html = again.content.decode()
    assert heading in html and "cancelled" not in html


def test_a_cancelled_or_expired_link_says_which(api, service):
    cancelled = create_over_api(api, service)
    api.post(f"/api/v1/payments/{cancelled['id']}/cancel")
    html = Client().get(page_path(cancelled["next_url"])).content.decode()
    assert "This payment was cancelled" in html
    expired = create_over_api(api, service)
    with all_tenants():
        Payment.objects.filter(pk=expired["id"]).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    html = Client().get(page_path(expired["next_url"])).content.decode()
    assert "This payment link has expired" in html


def test_the_payer_can_cancel_and_go_back_to_the_agency(api, service):
    created = create_over_api(api, service)
    browser = Client(enforce_csrf_checks=True)
    browser.get(page_path(created["next_url"]))
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    path = page_path(created["next_url"]) + "cancel/"
    assert browser.get(path).status_code == 405  # never by a GET: prefetching must not cancel
    answer = browser.post(path, {"csrfmiddlewaretoken": token})
    assert answer.status_code == 303 and answer["Location"] == created["return_url"]
    assert api.get(f"/api/v1/payments/{created['id']}").json()["state"] == "cancelled"
    assert browser.post(path, {"csrfmiddlewaretoken": token}).status_code == 410
