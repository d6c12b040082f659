"""One factory per tenant-owned model an API route exposes: ``model label → (tenant) → obj``.

The generic cross-tenant test walks every API route and fails if a route's model has
no factory here, so a new endpoint is covered the day it is added.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tenants import services

FACTORIES: dict[str, Callable] = {}


def factory(label: str):
    def register(function: Callable) -> Callable:
        FACTORIES[label] = function
        return function

    return register


@factory("tenants.Service")
def make_service(tenant):
    return services.create_service(
        tenant=tenant,
        code=f"svc-{os.urandom(3).hex()}",
        name="Isolation probe",
        interaction_kind="regulatory",
    )


@factory("hub.WebhookEndpoint")
def make_webhook_endpoint(tenant):
    from hub.events.endpoints import create_endpoint

    return create_endpoint(tenant=tenant, url="http://127.0.0.1:9/hook", event_types=["*"]).endpoint


@factory("hub.Event")
def make_event(tenant):
    from django.db import transaction

    from hub.events.outbox import publish

    with transaction.atomic():
        return publish(tenant=tenant, type="webhook.ping", subject_id="probe", payload={})


def _register(tenant):
    from registration import services as registration_services
    from tests.support.identifiers import random_bsn

    return registration_services.register_constituent(
        tenant=tenant,
        actor="test",
        kind="person",
        identifier_scheme="nl_bsn",
        identifier_value=random_bsn(),
        name="Isolation Probe",
        purpose="test",
        legal_basis="public_task",
    )


@factory("registration.Constituent")
def make_constituent(tenant):
    return _register(tenant).constituent


@factory("registration.Registration")
def make_registration(tenant):
    return _register(tenant).registration


@factory("registration.LifeEvent")
def make_life_event(tenant):
    from datetime import date

    from registration import services as registration_services

    constituent = _register(tenant).constituent
    return registration_services.record_life_event(
        tenant=tenant,
        actor="test",
        constituent=constituent,
        kind="address_change",
        occurred_on=date(2024, 1, 1),
        details={"address": {"line1": "1 Road", "postcode": "1000", "city": "X", "country": "NL"}},
    ).life_event


def _sandbox_payment(tenant):
    from payments.services import create_payment

    return create_payment(
        tenant=tenant,
        service=make_service(tenant),
        amount=1250,
        currency="EUR",
        description="Isolation probe",
        reference="probe",
    )


@factory("payments.Payment")
def make_payment(tenant):
    return _sandbox_payment(tenant)


@factory("payments.PaymentEvent")
def make_payment_event(tenant):
    return _sandbox_payment(tenant).timeline.first()


@factory("payments.Refund")
def make_refund(tenant):
    from payments.providers.sandbox import pay_with_test_card
    from payments.services import create_refund

    payment = pay_with_test_card(payment=_sandbox_payment(tenant), card_number="4242424242424242")
    return create_refund(payment=payment, amount=250)
