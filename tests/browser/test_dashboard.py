"""The operator's dashboard in a real browser: figures, SVG charts with their tables,
links to the lists behind them; no console error, no serious accessibility violation."""

from __future__ import annotations

import os

import pytest

from tests.browser.test_accessibility import serious_violations
from tests.support.browser_pages import finance_officer, log_in, operator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("HUB_SCREENSHOTS_DIR")  # set to keep screenshots for a reviewer


def shoot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.mark.parametrize("period", ["today", "7d", "30d"])
def test_the_operators_dashboard_and_its_charts(page, live_server, working_day, period):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, operator())
    response = page.goto(f"{live_server.url}/admin/?period={period}")
    assert response.status == 200
    assert page.locator("#site-name").inner_text() == "Government shared process hub"

    payments = page.locator("section", has=page.get_by_role("heading", name="Payments"))
    assert "€25,50" in payments.get_by_role("table").first.inner_text()
    charts = page.locator("#hub-dashboard svg[role=img]")
    assert charts.count() >= 3
    for index in range(charts.count()):
        assert charts.nth(index).get_attribute("aria-label")
    # Each chart's figures as a table, for whoever does not see the chart.
    page.get_by_text("Payments over time as a table").click()
    assert page.get_by_role("cell", name="1").first.is_visible()
    assert serious_violations(page) == []
    # Nothing wider than the window at 1280 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shoot(page, f"dashboard-operator-{period}")

    page.get_by_role("link", name="Payments over time").click()
    assert "/admin/payments/payment/" in page.url
    assert working_day["payment"].pk in page.locator("#result_list").inner_text()


def test_an_agency_finance_officer_sees_their_agencys_dashboard(
    page, live_server, tenant, working_day
):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, finance_officer(tenant))
    assert page.get_by_role("heading", name="Payments").is_visible()
    assert f"Agency: {tenant.name}" in page.locator(".hub-dashboard-note").inner_text()
    assert page.get_by_role("heading", name="Scheduled jobs").count() == 0
    assert serious_violations(page) == []
    shoot(page, "dashboard-finance-officer")


LISTS = [
    "payments/payment",
    "payments/refund",
    "collection/collectionrun",
    "collection/returnedattempt",
    "reconciliation/reconciliationexception",
    "hub/event",
    "hub/webhookdelivery",
    "hub/webhookendpoint",
]


def test_the_lists_behind_the_figures_fit_1280_px(page, live_server, working_day):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, operator())
    too_wide = {}
    for path in LISTS:
        assert page.goto(f"{live_server.url}/admin/{path}/").status == 200
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 1280:
            too_wide[path] = width
    assert too_wide == {}
