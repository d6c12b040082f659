"""axe-core (Deque's engine, bundled by axe-playwright-python) over the pages people use.

No violation of impact "serious" or "critical" is allowed; the moderate and minor ones
are printed so that a reviewer sees them.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tenants.scope import tenant_scope
from tests.payments.conftest import SUCCESS_CARD
from tests.support.browser_pages import fill_card, finance_officer, log_in, open_payment_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BLOCKING = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    violations = results.response["violations"]
    for violation in violations:
        if violation["impact"] not in BLOCKING:
            print(f"axe ({violation['impact']}): {violation['id']}: {violation['help']}")
    return [
        f"{v['impact']}: {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in BLOCKING
    ]


def test_the_payment_page(page, live_server, create_payment):
    open_payment_page(page, live_server, create_payment())
    assert serious_violations(page) == []


def test_the_payment_page_with_errors(page, live_server, create_payment):
    open_payment_page(page, live_server, create_payment())
    fill_card(page, SUCCESS_CARD, month="13", code="")
    page.get_by_role("button", name="Pay €12.50").click()
    assert page.get_by_role("alert").is_visible()
    assert serious_violations(page) == []


def test_the_finance_report(page, live_server, tenant, working_day):
    log_in(page, live_server, finance_officer(tenant))
    page.goto(f"{live_server.url}/reconciliation/runs/{working_day['reconciliation'].pk}/")
    assert serious_violations(page) == []


def test_a_payment_links_page_with_errors(page, live_server, tenant, service):
    from payments import services

    with tenant_scope(tenant):
        link = services.create_payment_link(
            tenant=tenant,
            service=service,
            title="Donation",
            reference_label="Your name",
            min_amount=100,
            max_amount=10000,
            languages=["en", "cy"],
        )
    page.goto(f"{live_server.url}/pay/link/{link.slug}/")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Continue to payment").click()
    assert page.get_by_role("alert").is_visible()
    assert serious_violations(page) == []
