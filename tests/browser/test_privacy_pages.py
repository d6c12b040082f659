"""The operator's privacy pages in a real browser: the subject-access export a person
receives, and the field authorisation of an agency."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from hub.models import AuditEntry
from registration.models import FieldAccess
from tenants.scope import all_tenants
from tests.collection.conftest import Collections
from tests.support.admin_urls import admin_change_path
from tests.support.browser_pages import log_in, operator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def serious_violations(page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['impact']}: {v['id']}: {v['help']}"
        for v in violations
        if v["impact"] in {"serious", "critical"}
    ]


def test_the_subject_access_export_page_reads_as_a_document(page, live_server, tenant):
    agency = Collections(tenant)
    person = agency.constituent()
    agency.debt(constituent=person, amount=4_250)
    log_in(page, live_server, operator())

    response = page.goto(live_server.url + admin_change_path("registration.constituent", person.pk))
    assert response.status == 200
    page.get_by_role("link", name="Readable page").click()
    page.wait_for_url(f"**/registration/constituent/{person.pk}/subject-access/")

    assert page.get_by_role("heading", level=1).inner_text() == "What the hub holds on Jan Jansen"
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    for title in (
        "Your record",
        "Identifiers",
        "Agencies registered with you",
        "Who looked at your record",
        "Payments",
        "Debts",
        "Direct-debit mandates",
    ):
        assert title in headings
    debts = page.locator("[data-section=debts] tbody tr")
    assert debts.count() == 1 and "€42,50" in debts.inner_text()
    registrations = page.locator("[data-section=registrations]").inner_text()
    assert tenant.name in registrations and "tax collection" in registrations
    assert "Nothing held." in page.locator("[data-section=payments]").inner_text()
    assert serious_violations(page) == []
    with all_tenants():
        assert AuditEntry.objects.filter(
            tenant=tenant, action="subject access export", object_id=person.pk
        ).exists()


def test_the_operator_authorises_an_agencys_fields(page, live_server, tenant):
    log_in(page, live_server, operator())
    response = page.goto(f"{live_server.url}/admin/registration/fieldaccess/add/")
    assert response.status == 200
    page.get_by_label("Tenant").select_option(label=tenant.name)
    page.get_by_label("Address", exact=True).check()
    page.get_by_label("Date of birth", exact=True).check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}/admin/registration/fieldaccess/")
    row = page.locator("#result_list tbody tr", has_text=tenant.name)
    assert "Date of birth, Address" in row.inner_text()
    assert FieldAccess.objects.get(tenant=tenant).visible_fields == ["date_of_birth", "address"]
    assert serious_violations(page) == []
