"""Who sees what: an agency's finance users see their own runs, reports and exceptions
only (API, admin and the report pages); the admin's upload, run and resolve screens."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from reconciliation.models import (
    ReconciliationException,
    ReconciliationRun,
    ReconciliationSettings,
    StatementImport,
)
from tenants import services as tenants
from tenants.scope import tenant_scope
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import FIXTURES, import_bytes, reconcile
from tests.support.admin_urls import admin_change_path

pytestmark = pytest.mark.django_db


def staff(tenant, role: str, name: str):
    user = tenants.create_staff_user(
        username=name, email=f"{name}@example.org", password="pw-1234567890"
    )
    tenants.grant_role(tenant=tenant, user=user, role=role)
    return user


def problem_day(tenant, today, label: str):
    """A run with one exception (an unknown receipt) for ``tenant``."""
    import_bytes(
        tenant,
        camt053([Entry(777, remittance=f"who is {label} 12345")], booked=today, statement_id=label),
    )
    run = reconcile(tenant, today)
    with tenant_scope(tenant):
        exception = ReconciliationException.objects.get(first_run=run)
    return run, exception


@pytest.fixture
def two_agencies(tenant, other_tenant, today):
    return problem_day(tenant, today, "MINE"), problem_day(other_tenant, today, "THEIRS")


def test_the_api_hides_another_agencys_runs_reports_and_exceptions(api, two_agencies):
    (mine, my_exception), (theirs, their_exception) = two_agencies

    for path in (
        f"/api/v1/reconciliation-runs/{theirs.pk}",
        f"/api/v1/reconciliation-runs/{theirs.pk}/items",
        f"/api/v1/reconciliation-runs/{theirs.pk}/report.csv",
        f"/api/v1/reconciliation-runs/{theirs.pk}/report.xlsx",
        f"/api/v1/reconciliation-exceptions/{their_exception.pk}",
        f"/api/v1/statement-lines/{their_exception.line_id}",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    resolve = api.post(
        f"/api/v1/reconciliation-exceptions/{their_exception.pk}/resolve",
        {"resolution": "written_off", "note": "not mine"},
        format="json",
    )
    assert resolve.status_code == 404
    runs = api.get("/api/v1/reconciliation-runs").json()["results"]
    assert [r["id"] for r in runs] == [mine.pk]
    exceptions = api.get("/api/v1/reconciliation-exceptions").json()["results"]
    assert [e["id"] for e in exceptions] == [my_exception.pk]
    their_exception.refresh_from_db()
    assert their_exception.state == "open"


def test_the_report_pages_show_a_finance_user_their_own_agency_only(client, tenant, two_agencies):
    (mine, _), (theirs, _) = two_agencies
    client.force_login(staff(tenant, "finance", "fin"))

    assert client.get(f"/reconciliation/runs/{mine.pk}/").status_code == 200
    for suffix in ("", "report.csv", "report.xlsx"):
        assert client.get(f"/reconciliation/runs/{theirs.pk}/{suffix}").status_code == 404
    listing = client.get("/reconciliation/runs/").content.decode()
    assert mine.pk in listing and theirs.pk not in listing


def test_a_caseworker_does_not_see_reconciliation(client, tenant, two_agencies):
    (mine, _), _ = two_agencies
    client.force_login(staff(tenant, "caseworker", "case"))

    assert client.get(f"/reconciliation/runs/{mine.pk}/").status_code == 404
    assert client.get("/admin/reconciliation/reconciliationrun/").status_code == 403


def test_the_admin_lists_only_the_users_agency(client, tenant, two_agencies):
    (mine, my_exception), (theirs, their_exception) = two_agencies
    client.force_login(staff(tenant, "finance", "fin"))

    runs = client.get("/admin/reconciliation/reconciliationrun/").content.decode()
    assert mine.pk in runs and theirs.pk not in runs
    exceptions = client.get("/admin/reconciliation/reconciliationexception/").content.decode()
    assert my_exception.pk in exceptions and their_exception.pk not in exceptions
    foreign = client.get(admin_change_path("reconciliation.reconciliationrun", theirs.pk))
    assert foreign.status_code == 302  # "does not exist", like any missing object
    own = client.get(admin_change_path("reconciliation.reconciliationrun", mine.pk))
    assert own.status_code == 200 and f"/reconciliation/runs/{mine.pk}/" in own.content.decode()


def test_a_finance_user_resolves_with_the_admin_action(client, tenant, two_agencies):
    (_, my_exception), (_, their_exception) = two_agencies
    client.force_login(staff(tenant, "finance", "fin"))
    url = "/admin/reconciliation/reconciliationexception/"

    confirm = client.post(
        url, {"action": "resolve", "_selected_action": [my_exception.pk, their_exception.pk]}
    )
    assert confirm.status_code == 200
    assert b"Resolve reconciliation exceptions" in confirm.content
    done = client.post(
        url,
        {
            "action": "resolve",
            "_selected_action": [my_exception.pk, their_exception.pk],
            "apply": "1",
            "resolution": "refunded",
            "note": "Sent back to the payer",
        },
    )

    assert done.status_code == 302
    my_exception.refresh_from_db()
    their_exception.refresh_from_db()
    assert (my_exception.state, my_exception.resolution) == ("resolved", "refunded")
    assert my_exception.resolved_by == "admin:fin"
    assert their_exception.state == "open"  # not in the user's list, so never selected


def test_an_auditor_reads_but_cannot_resolve(client, tenant, two_agencies):
    (_, my_exception), _ = two_agencies
    client.force_login(staff(tenant, "auditor", "aud"))
    url = "/admin/reconciliation/reconciliationexception/"

    page = client.get(url)
    assert page.status_code == 200 and my_exception.pk in page.content.decode()
    assert b'value="resolve"' not in page.content
    client.post(
        url,
        {
            "action": "resolve",
            "_selected_action": [my_exception.pk],
            "apply": "1",
            "resolution": "refunded",
            "note": "x",
        },
    )
    my_exception.refresh_from_db()
    assert my_exception.state == "open"


def test_uploading_and_reconciling_from_the_admin(client, tenant, other_tenant, today):
    client.force_login(staff(tenant, "finance", "fin"))

    form = client.get("/admin/reconciliation/statementimport/upload/")
    assert form.status_code == 200
    choices = form.context["form"].fields["tenant"].queryset
    assert list(choices) == [tenant]
    uploaded = client.post(
        "/admin/reconciliation/statementimport/upload/",
        {
            "tenant": tenant.pk,
            "file": SimpleUploadedFile("day.sta", (FIXTURES / "mt940_normal_day.sta").read_bytes()),
        },
    )
    assert uploaded.status_code == 302
    with tenant_scope(tenant):
        statement_import = StatementImport.objects.get()
    assert statement_import.imported_by == "admin:fin"
    shown = admin_change_path("reconciliation.statementimport", statement_import.pk)
    assert uploaded["Location"] == shown
    assert client.get(shown).status_code == 200
    refused = client.post(
        "/admin/reconciliation/statementimport/upload/",
        {
            "tenant": other_tenant.pk,
            "file": SimpleUploadedFile("day.sta", (FIXTURES / "mt940_reversal.sta").read_bytes()),
        },
    )
    assert refused.status_code == 200 and refused.context["form"].errors["tenant"]
    bad = client.post(
        "/admin/reconciliation/statementimport/upload/",
        {
            "tenant": tenant.pk,
            "file": SimpleUploadedFile(
                "bad.sta", (FIXTURES / "mt940_bad_61_entry2.sta").read_bytes()
            ),
        },
    )
    assert "Entry 2:" in bad.context["form"].errors["file"][0]

    started = client.post(
        "/admin/reconciliation/reconciliationrun/start/",
        {"tenant": tenant.pk, "period_start": "2024-03-01", "period_end": "2024-03-01"},
    )
    assert started.status_code == 302
    with tenant_scope(tenant):
        run = ReconciliationRun.objects.get()
    assert run.trigger == "admin"
    assert started["Location"] == f"/reconciliation/runs/{run.pk}/"


def test_finance_edits_their_agencys_tolerances(client, tenant, other_tenant):
    client.force_login(staff(tenant, "finance", "fin"))
    from reconciliation.services.agency_settings import ensure_settings

    mine, theirs = ensure_settings(tenant), ensure_settings(other_tenant)
    url = admin_change_path("reconciliation.reconciliationsettings", mine.pk)
    response = client.post(
        url,
        {
            "tenant": tenant.pk,
            "date_window_days": 5,
            "amount_tolerance": 10,
            "lookback_days": 40,
            "daily_run_enabled": "on",
        },
    )
    assert response.status_code == 302
    with tenant_scope(tenant):
        mine = ReconciliationSettings.objects.get(pk=mine.pk)
    assert (mine.date_window_days, mine.amount_tolerance) == (5, 10)
    foreign = client.get(admin_change_path("reconciliation.reconciliationsettings", theirs.pk))
    assert foreign.status_code == 302


def test_an_operator_sees_every_agency(client, two_agencies):
    (mine, _), (theirs, _) = two_agencies
    operator = get_user_model().objects.create_superuser("op", "op@example.org", "pw-1234567890")
    client.force_login(operator)

    runs = client.get("/admin/reconciliation/reconciliationrun/").content.decode()
    assert mine.pk in runs and theirs.pk in runs
    assert client.get(f"/reconciliation/runs/{theirs.pk}/").status_code == 200


@pytest.mark.parametrize(
    "model",
    [
        "reconciliationsettings",
        "statementimport",
        "statementline",
        "match",
        "reconciliationrun",
        "reconciliationexception",
    ],
)
def test_every_reconciliation_admin_page_renders(client, two_agencies, model):
    (_, exception), _ = two_agencies
    operator = get_user_model().objects.create_superuser("op", "op@example.org", "pw-1234567890")
    client.force_login(operator)

    listing = client.get(f"/admin/reconciliation/{model}/")

    assert listing.status_code == 200
    if model == "reconciliationexception":
        detail = client.get(admin_change_path(f"reconciliation.{model}", exception.pk))
        assert detail.status_code == 200 and exception.reason in detail.content.decode()


def test_reading_an_agencys_settings_writes_nothing(tenant):
    from reconciliation.selectors import settings_for

    settings = settings_for(tenant)
    with tenant_scope(tenant):
        assert not ReconciliationSettings.objects.exists()
    assert settings.date_window_days == ReconciliationSettings().date_window_days
