"""Demo agencies for ``make run``: three tenants, each with services, a key and staff."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from tenants import services
from tenants.models import ApiKey, StaffMembership, Tenant
from tenants.scope import all_tenants

DEMO_PASSWORD = "demo-pass-1234"  # noqa: S105  (a published demo credential, dev only)
DEMO_KEY_NAME = "Demo key (make run)"

DEMO_AGENCIES = [
    {
        "slug": "tax-office",
        "name": "National Tax Office",
        "currency": "EUR",
        "services": [
            ("income-tax", "Income tax assessment", "regulatory"),
            ("penalty", "Late filing penalty", "regulatory"),
        ],
    },
    {
        "slug": "vehicle-licensing",
        "name": "Vehicle Licensing Agency",
        "currency": "GBP",
        "services": [
            ("vehicle-tax", "Vehicle tax", "regulatory"),
            ("personalised-plate", "Personalised number plate", "discretionary"),
        ],
    },
    {
        "slug": "municipality",
        "name": "City Municipality",
        "currency": "EUR",
        "services": [
            ("passport", "Passport renewal", "discretionary"),
            ("parking-permit", "Resident parking permit", "discretionary"),
            ("bereavement", "Bereavement support", "proactive"),
        ],
    },
]


@dataclass
class DemoAgency:
    tenant: Tenant
    api_key: str
    staff_username: str


@transaction.atomic
def load_demo() -> list[DemoAgency]:
    """Agencies, services and staff are created once. Each run issues a fresh demo key
    per agency and revokes the previous one: the hub stores only hashes, so printing a
    usable key means issuing one."""
    result = []
    user_model = get_user_model()
    for spec in DEMO_AGENCIES:
        tenant = Tenant.objects.filter(slug=spec["slug"]).first()
        if tenant is None:
            tenant = services.create_tenant(
                slug=spec["slug"], name=spec["name"], default_currency=spec["currency"]
            )
            for code, name, kind in spec["services"]:
                services.create_service(tenant=tenant, code=code, name=name, interaction_kind=kind)
        # The demo loader is a command that sets up every demo agency, outside any scope.
        with all_tenants():
            for old in ApiKey.objects.filter(tenant=tenant, name=DEMO_KEY_NAME, revoked_at=None):
                services.revoke_api_key(api_key=old)
        secret = services.issue_api_key(tenant=tenant, name=DEMO_KEY_NAME).secret
        username = f"{spec['slug']}-admin"
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(
                username=username, password=DEMO_PASSWORD, is_staff=True
            )
        for role in (
            StaffMembership.Role.AGENCY_ADMIN,
            StaffMembership.Role.FINANCE,
            StaffMembership.Role.AUDITOR,
        ):
            services.grant_role(tenant=tenant, user=user, role=role)
        result.append(DemoAgency(tenant=tenant, api_key=secret, staff_username=username))
    if not user_model.objects.filter(username="operator").exists():
        user_model.objects.create_superuser("operator", "operator@hub.example", DEMO_PASSWORD)
    return result
