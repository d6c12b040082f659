"""What the browser tests do on the hub's pages: pay, log in, as people do."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from tenants import services as tenant_services
from tests.payments.conftest import page_path

PASSWORD = "a-long-test-password-1"


def open_payment_page(page, live_server, payment):
    response = page.goto(live_server.url + page_path(payment["next_url"]))
    assert response.status == 200
    return response


def fill_card(page, number, *, month="04", year="30", name="A. Citizen", code="123"):
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month").fill(month)
    page.get_by_label("Expiry year").fill(year)
    page.get_by_label("Name on card").fill(name)
    page.get_by_label("Card security code").fill(code)


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
