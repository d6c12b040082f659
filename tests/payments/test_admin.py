"""The payments admin: read-only money records, write-only credentials, re-sync."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from payments.models import ProviderAccount
from tenants import services as tenant_services
from tenants.models import StaffMembership
from tenants.scope import all_tenants
from tests.payments.conftest import new_payment, paid_payment
from tests.support.admin_urls import admin_change_path

pytestmark = pytest.mark.django_db
Role = StaffMembership.Role


@pytest.fixture
def operator(client):
    user = get_user_model().objects.create_superuser("operator", "op@example.org", "pw-123456789")
    client.force_login(user)
    return user


def staff(client, tenant, role, username="agent"):
    user = get_user_model().objects.create_user(username=username, password="pw-123456789")
    tenant_services.grant_role(tenant=tenant, user=user, role=role)
    client.force_login(user)
    return user


def test_payment_pages_show_the_timeline_and_refunds(client, operator, tenant, service):
    payment = paid_payment(tenant, service)
    listing = client.get("/admin/payments/payment/?state__exact=success")
    assert listing.status_code == 200 and payment.pk in listing.content.decode()
    page = client.get(admin_change_path("payments.payment", payment.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Timeline" in html and "sandbox" in html
    assert payment.hosted_token not in html  # the payer's page credential stays hidden
    for path in (
        "/admin/payments/refund/",
        "/admin/payments/ledgertransaction/",
        "/admin/payments/ledgertransaction/balances/",
        "/admin/payments/provideraccount/",
        "/admin/payments/stripeeventreceipt/",
    ):
        assert client.get(path).status_code == 200, path
    balances = client.get("/admin/payments/ledgertransaction/balances/").content.decode()
    assert tenant.name in balances and "8550" in balances


def test_finance_staff_see_only_their_agency(client, tenant, other_tenant, service, other_service):
    mine = paid_payment(tenant, service)
    theirs = paid_payment(other_tenant, other_service)
    staff(client, tenant, Role.FINANCE)
    listing = client.get("/admin/payments/payment/").content.decode()
    assert mine.pk in listing and theirs.pk not in listing
    assert client.get(admin_change_path("payments.payment", theirs.pk)).status_code in (302, 404)
    balances = client.get("/admin/payments/ledgertransaction/balances/").content.decode()
    assert tenant.name in balances and other_tenant.name not in balances


def test_caseworkers_do_not_see_payments(client, tenant, service):
    staff(client, tenant, Role.CASEWORKER)
    assert client.get("/admin/payments/payment/").status_code == 403


def test_resync_action(client, tenant, service):
    payment = new_payment(tenant, service)
    staff(client, tenant, Role.FINANCE)
    response = client.post(
        "/admin/payments/payment/",
        {"action": "resync_with_provider", "_selected_action": [payment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Re-synced: 0 changed, 1 already up to date, 0 failed." in response.content.decode()


def test_auditors_cannot_resync(client, tenant, service):
    new_payment(tenant, service)
    staff(client, tenant, Role.AUDITOR)
    listing = client.get("/admin/payments/payment/").content.decode()
    assert "resync_with_provider" not in listing


def test_provider_credentials_are_write_only(client, tenant):
    staff(client, tenant, Role.AGENCY_ADMIN)
    secret, hook = "sk_test_51AdminEnteredSecret", "whsec_AdminEnteredWebhookSecret"
    created = client.post(
        "/admin/payments/provideraccount/add/",
        {
            "tenant": tenant.pk,
            "provider": "stripe",
            "service": "",
            "publishable_key": "pk_test_123",
            "active": "on",
            "new_secret_key": secret,
            "new_webhook_secret": hook,
        },
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    with all_tenants():
        account = ProviderAccount.objects.get(tenant=tenant)
    assert account.secret_key == secret and account.webhook_secret == hook

    page = client.get(admin_change_path("payments.provideraccount", account.pk)).content.decode()
    assert secret not in page and hook not in page
    assert f"/webhooks/stripe/{tenant.slug}/" in page

    # Saving with the secret fields empty keeps what is stored.
    client.post(
        admin_change_path("payments.provideraccount", account.pk),
        {
            "tenant": tenant.pk,
            "provider": "stripe",
            "service": "",
            "publishable_key": "pk_test_456",
            "active": "on",
            "new_secret_key": "",
            "new_webhook_secret": "",
        },
    )
    with all_tenants():
        account.refresh_from_db()
    assert account.publishable_key == "pk_test_456" and account.secret_key == secret

    wrong = client.post(
        admin_change_path("payments.provideraccount", account.pk),
        {
            "tenant": tenant.pk,
            "provider": "stripe",
            "active": "on",
            "new_secret_key": "pk_live_not_a_secret",
        },
    )
    assert (
        wrong.status_code == 200 and "Expected a value starting with sk_" in wrong.content.decode()
    )
