"""The pages an operator and an agency's finance officer use daily, in a real browser."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from collection.services import runs
from tenants import services as tenant_services
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections
from tests.payments.conftest import paid_payment
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import import_bytes, reconcile
from tests.support.admin_urls import admin_change_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password-1"


@pytest.fixture
def working_day(tenant, service):
    """A paid card payment, a finished collection run and a reconciled bank day."""
    payment = paid_payment(tenant, service, amount=2550)
    collections = Collections(tenant)
    collections.debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        run = runs.process_run(run=run)
    today = dt.date.today()
    import_bytes(tenant, camt053([Entry(2550, remittance=payment.pk)], booked=today))
    return {"payment": payment, "run": run, "reconciliation": reconcile(tenant, today)}


def operator():
    return get_user_model().objects.create_superuser("operator", "op@example.org", PASSWORD)


def finance_officer(tenant):
    user = tenant_services.create_staff_user(
        username="finance", email="finance@example.org", password=PASSWORD
    )
    tenant_services.grant_role(tenant=tenant, user=user, role="finance")
    return user


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    assert "Server Error" not in page.title()


@pytest.mark.parametrize("who", ["operator", "finance officer"])
def test_the_daily_pages_render_in_the_browser(page, live_server, tenant, working_day, who):
    user = operator() if who == "operator" else finance_officer(tenant)
    log_in(page, live_server, user)
    payment, run = working_day["payment"], working_day["run"]

    visit(page, f"{live_server.url}/admin/payments/payment/")
    row = page.locator("#result_list tbody tr", has_text=payment.pk)
    assert "€25,50" in row.inner_text()

    visit(page, live_server.url + admin_change_path("payments.payment", payment.pk))
    timeline = page.locator(".inline-group", has_text="Timeline")
    assert "success" in timeline.inner_text()

    visit(page, f"{live_server.url}/admin/collection/collectionrun/")
    assert page.locator("#result_list tbody tr", has_text=run.pk).count() == 1

    visit(page, f"{live_server.url}/reconciliation/runs/{working_day['reconciliation'].pk}/")
    assert "€25,50" in page.locator("main, #content").first.inner_text()
    assert "Minor units" not in page.content()
