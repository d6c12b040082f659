"""The pages an operator and an agency's finance officer use daily, in a real browser."""

from __future__ import annotations

import pytest

from tests.support.admin_urls import admin_change_path
from tests.support.browser_pages import finance_officer, log_in, operator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
