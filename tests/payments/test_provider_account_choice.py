"""Which provider account a payment uses: the service's own, else the agency's default."""

from __future__ import annotations

import pytest

from payments.models import ProviderAccount
from payments.selectors import provider_account_for
from tenants import services as tenant_services
from tenants.scope import all_tenants, tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def services_(tenant):
    return [
        tenant_services.create_service(
            tenant=tenant, code=code, name=code.title(), interaction_kind="discretionary"
        )
        for code in ("passport", "licence")
    ]


def account(tenant, provider, service=None, active=True) -> ProviderAccount:
    with all_tenants():
        return ProviderAccount.objects.create(
            tenant=tenant, provider=provider, service=service, active=active
        )


def chosen(tenant, service, provider=None):
    with tenant_scope(tenant):
        return provider_account_for(tenant=tenant, service=service, provider=provider)


def test_the_services_own_account_comes_before_the_default(tenant, services_):
    passport, licence = services_
    default = account(tenant, "stripe")
    own = account(tenant, "bank_file", passport)  # newer than the default: order is not why

    assert chosen(tenant, passport) == own
    assert chosen(tenant, licence) == default
    assert chosen(tenant, None) == default
    assert chosen(tenant, passport, provider="stripe") == default
    assert chosen(tenant, passport, provider="bank_file") == own
    assert chosen(tenant, licence, provider="bank_file") is None


def test_inactive_accounts_and_other_agencies_accounts_are_never_chosen(
    tenant, other_tenant, services_
):
    passport, _ = services_
    account(tenant, "stripe", passport, active=False)
    account(other_tenant, "stripe")

    assert chosen(tenant, passport) is None
    default = account(tenant, "stripe")
    assert chosen(tenant, passport) == default
