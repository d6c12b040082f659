"""Known figures for the dashboard and /metrics: two agencies' payments and a webhook.

Tax Office: two paid (€12,50 and €25,50), one declined (€7,00), one not yet paid
(€9,90), one delivery failed. Vehicle Agency: one paid (€400,00).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from hub.events.models import WebhookDelivery
from payments.models import Payment
from payments.services.sandbox_payments import pay_with_test_card
from tenants import services as tenant_services
from tenants.scope import all_tenants, tenant_scope
from tests.payments.conftest import DECLINED_CARD, new_payment, paid_payment

PASSWORD = "a-long-test-password-1"


@dataclass
class Figures:
    tax: object
    vehicles: object
    tax_payments: list[Payment]
    vehicle_payments: list[Payment]


def service_for(tenant, code="permit"):
    return tenant_services.create_service(
        tenant=tenant, code=code, name="Permit", interaction_kind="discretionary"
    )


@pytest.fixture
def known_figures(tenant, other_tenant) -> Figures:
    tax_service, vehicle_service = service_for(tenant), service_for(other_tenant)
    declined = new_payment(tenant, tax_service, amount=700)
    with tenant_scope(tenant):
        declined = pay_with_test_card(payment=declined, card_number=DECLINED_CARD)
    tax = [
        paid_payment(tenant, tax_service, amount=1250),
        paid_payment(tenant, tax_service, amount=2550),
        declined,
        new_payment(tenant, tax_service, amount=990),
    ]
    vehicles = [paid_payment(other_tenant, vehicle_service, amount=40000)]
    return Figures(tenant, other_tenant, tax, vehicles)


def staff_user(tenant, role="finance", username="finance"):
    user = tenant_services.create_staff_user(
        username=username, email=f"{username}@example.org", password=PASSWORD
    )
    tenant_services.grant_role(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_superuser("operator", "op@example.org", PASSWORD)


def deliveries_of(tenant):
    with all_tenants():
        return list(WebhookDelivery.objects.filter(tenant=tenant))
