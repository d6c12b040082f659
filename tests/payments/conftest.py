"""Fixtures for the payments tests: a service, payments in each state, receivers."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from payments import services
from payments.models import Payment
from payments.services.sandbox_payments import pay_with_test_card
from tenants import services as tenant_services
from tenants.scope import tenant_scope
from tests.support.receiver import WebhookReceiver

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
PROCESSING_ERROR_CARD = "4000 0000 0000 0119"


@pytest.fixture
def service(tenant):
    return tenant_services.create_service(
        tenant=tenant, code="passport", name="Passport renewal", interaction_kind="discretionary"
    )


@pytest.fixture
def other_service(other_tenant):
    return tenant_services.create_service(
        tenant=other_tenant, code="plates", name="Number plates", interaction_kind="discretionary"
    )


def new_payment(tenant, service, **overrides) -> Payment:
    fields = {
        "amount": 8550,
        "currency": "EUR",
        "description": "Passport renewal",
        "reference": "PASS-0001",
        "return_url": "https://agency.example/return",
    }
    fields.update(overrides)
    with tenant_scope(tenant):
        return services.create_payment(tenant=tenant, service=service, **fields)


def paid_payment(tenant, service, **overrides) -> Payment:
    payment = new_payment(tenant, service, **overrides)
    with tenant_scope(tenant):
        return pay_with_test_card(payment=payment, card_number=SUCCESS_CARD)


def page_path(payment_or_url) -> str:
    url = payment_or_url if isinstance(payment_or_url, str) else payment_or_url.next_url
    return urlparse(url).path


@pytest.fixture
def receivers():
    started = []

    def start(**kwargs) -> WebhookReceiver:
        receiver = WebhookReceiver(**kwargs).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def deliver_everything():
    """What the worker does: dispatch undispatched events, then send due deliveries."""
    from django.utils import timezone

    from hub.events import delivery, dispatch

    now = timezone.now()
    for event_id in dispatch.undispatched_event_ids(now=now + dispatch.SWEEP_GRACE):
        dispatch.dispatch_event(event_id)
    now = timezone.now()
    for delivery_id in delivery.due_delivery_ids(now=now):
        delivery.attempt_delivery(delivery_id, now=now)


def card_form(number: str, **overrides) -> dict:
    return {
        "card_number": number,
        "expiry_month": "04",
        "expiry_year": "39",
        "cardholder_name": "A. Citizen",
        "security_code": "123",
        **overrides,
    }


@pytest.fixture
def default_return_window():
    """payments' own return window, whatever policy another app installed at start-up."""
    from payments.services.direct_debit import set_return_window_policy

    previous = set_return_window_policy(None)
    yield
    set_return_window_policy(previous)
