"""Runs through the API, the daily beat job, and the finance reports (CSV, XLSX, the HTML
page with its chart)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook

from hub.events.models import Event
from reconciliation import services, tasks
from reconciliation.models import ReconciliationException, ReconciliationRun
from reconciliation.reports.cells import money, safe_text
from reconciliation.reports.chart import daily_chart
from reconciliation.services import daily
from tenants import services as tenants
from tenants.scope import tenant_scope
from tests.conftest import client_for
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import card_payment, import_bytes, reconcile
from tests.support.admin_urls import admin_change_path

pytestmark = pytest.mark.django_db
INJECTION = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def reconciled(tenant, service, today):
    """A day with one matched payment and one receipt whose text is a formula."""
    payment = card_payment(tenant, service, 2550, reference="+SUM(A1:A9)")
    import_bytes(
        tenant,
        camt053(
            [Entry(2550, remittance=payment.pk), Entry(-1200, name="@evil", remittance=INJECTION)],
            booked=today,
            opening=10000,
        ),
    )
    return reconcile(tenant, today), payment


def test_starting_a_run_through_the_api(finance_api, tenant, service, today):
    card_payment(tenant, service, 1000)

    response = finance_api.post(
        "/api/v1/reconciliation-runs",
        {"period_start": today.isoformat(), "period_end": today.isoformat()},
        format="json",
    )

    assert response.status_code == 201
    run = response.json()
    assert run["id"].startswith("rcr_") and run["state"] == "completed"
    assert run["trigger"] == "api"
    assert run["date_window_days"] == 3 and run["amount_tolerance"] == 0
    [eur] = run["totals"]
    assert eur["currency"] == "EUR" and eur["gross"] == 1000
    assert eur["statement_opening"] is None  # no statement imported
    assert run["links"]["report_csv"].endswith("/report.csv")
    assert finance_api.get(f"/api/v1/reconciliation-runs/{run['id']}").json() == run
    listed = finance_api.get("/api/v1/reconciliation-runs").json()["results"]
    assert [r["id"] for r in listed] == [run["id"]]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (
            {"period_start": "2024-03-02", "period_end": "2024-03-01"},
            "invalid_period",
            "period_end",
        ),
        (
            {"period_start": "2023-01-01", "period_end": "2024-03-01"},
            "period_too_long",
            "period_end",
        ),
        (
            {"period_start": "2999-01-01", "period_end": "2999-01-01"},
            "invalid_period",
            "period_start",
        ),
        (
            {"period_start": "yesterday", "period_end": "2024-03-01"},
            "invalid_value",
            "period_start",
        ),
        ({"period_end": "2024-03-01"}, "missing_field", "period_start"),
        ({"period_start": "2024-03-01", "period_end": "2024-03-01", "x": 1}, "unknown_field", "x"),
    ],
)
def test_bad_periods_are_refused(finance_api, tenant, body, code, field):
    response = finance_api.post("/api/v1/reconciliation-runs", body, format="json")

    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    with tenant_scope(tenant):
        assert not ReconciliationRun.objects.exists()


def test_starting_runs_needs_payments_write(tenant, today):
    reader = client_for(tenant, ["reports:read"])
    body = {"period_start": today.isoformat(), "period_end": today.isoformat()}
    assert reader.post("/api/v1/reconciliation-runs", body, format="json").status_code == 403
    assert reader.get("/api/v1/reconciliation-runs").status_code == 200


def test_the_run_items_api_pages_and_filters(finance_api, reconciled):
    run, payment = reconciled

    items = finance_api.get(f"/api/v1/reconciliation-runs/{run.pk}/items", {"limit": 1}).json()
    assert len(items["results"]) == 1 and items["next"]
    matched = finance_api.get(
        f"/api/v1/reconciliation-runs/{run.pk}/items", {"status": "matched"}
    ).json()["results"]
    assert [(r["item"], r["reported_amount"]) for r in matched] == [
        ({"kind": "payment", "id": payment.pk}, 2550)
    ]
    bad = finance_api.get(f"/api/v1/reconciliation-runs/{run.pk}/items", {"status": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "status"


def test_the_csv_report_neutralises_formulas(finance_api, reconciled):
    run, _ = reconciled

    response = finance_api.get(f"/api/v1/reconciliation-runs/{run.pk}/report.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"reconciliation-{run.period_start}" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffstatus,date,channel")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    matched = next(r for r in rows if r["status"] == "matched")
    assert matched["reference"] == "'+SUM(A1:A9)"
    assert matched["statement_amount"] == matched["expected_amount"] == "25.50"
    assert matched["difference"] == "0.00"
    outgoing = next(r for r in rows if r["status"] == "unmatched_reported")
    assert outgoing["counterparty"] == "'@evil"
    assert outgoing["statement_amount"] == "-12.00"  # our own number: not text, not quoted
    assert not any(
        value.startswith(("=", "+", "@", "\t", "\r"))
        for row in rows
        for key, value in row.items()
        if key not in ("statement_amount", "expected_amount", "difference")
    )


def test_the_xlsx_report_has_numbers_and_no_formulas(finance_api, reconciled, tmp_path):
    run, _ = reconciled

    response = finance_api.get(f"/api/v1/reconciliation-runs/{run.pk}/report.xlsx")

    assert response.status_code == 200
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Summary", "Items", "Exceptions"]
    items = workbook["Items"]
    header = [cell.value for cell in items[1]]
    rows = [
        dict(zip(header, (cell for cell in row), strict=True)) for row in items.iter_rows(min_row=2)
    ]
    matched = next(r for r in rows if r["status"].value == "matched")
    assert matched["statement_amount"].data_type == "n"
    assert matched["statement_amount"].value == pytest.approx(25.5)
    assert matched["statement_amount"].number_format == "#,##0.00"
    assert matched["reference"].value == "'+SUM(A1:A9)"
    assert all(cell.data_type != "f" for row in items.iter_rows() for cell in row)
    summary = {row[0].value: row for row in workbook["Summary"].iter_rows()}
    assert summary["Period"][1].value == f"{run.period_start} to {run.period_end}"
    eur = summary["EUR"]
    labels = [cell.value for cell in summary["Currency"]]
    assert eur[labels.index("Gross collected")].value == pytest.approx(25.5)


def test_money_cells_and_formula_guard():
    assert str(money(1250, "EUR")) == "12.50"
    assert str(money(-5, "EUR")) == "-0.05"
    assert str(money(15000, "JPY")) == "15000"
    assert str(money(1234, "BHD")) == "1.234"
    assert [safe_text(v) for v in ("=1+1", "+1", "-1", "@A", "\tx", "\rx", "ok", None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A",
        "'\tx",
        "'\rx",
        "ok",
        "",
    ]


def test_the_chart_is_inline_svg_without_scripts():
    svg = daily_chart({"2024-03-01": [1000, 900], "2024-03-02": [0, -500]}, "EUR")

    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    assert svg.count("<rect") == 4 + 2  # two bars a day, two legend swatches
    assert "2024-03-02 received: -5.00 EUR" in svg
    assert 'aria-label="Expected and received per day in EUR"' in svg


def test_the_html_report_for_a_finance_user(client, tenant, reconciled):
    run, payment = reconciled
    user = tenants.create_staff_user(username="fin", email="f@example.org", password="pw-123456789")
    tenants.grant_role(tenant=tenant, user=user, role="finance")
    client.force_login(user)

    page = client.get(f"/reconciliation/runs/{run.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "<script" not in html.split("</header>")[-1]
    assert payment.pk in html
    assert "&#x27;+SUM" not in html and "+SUM(A1:A9)" in html  # escaped HTML, not CSV rules
    assert INJECTION not in html  # the quote marks are HTML-escaped
    assert client.get(f"/reconciliation/runs/{run.pk}/report.csv").status_code == 200
    assert client.get(f"/reconciliation/runs/{run.pk}/report.xlsx").status_code == 200
    listing = client.get("/reconciliation/runs/")
    assert run.pk in listing.content.decode()


def test_the_html_report_links_each_exception_to_its_admin_page(client, tenant, today):
    import_bytes(tenant, camt053([Entry(999, name="Stranger", remittance="who")], booked=today))
    run = reconcile(tenant, today)
    with tenant_scope(tenant):
        [exception] = ReconciliationException.objects.filter(last_run=run)
    user = tenants.create_staff_user(username="fin", email="f@example.org", password="pw-123456789")
    tenants.grant_role(tenant=tenant, user=user, role="finance")
    client.force_login(user)

    html = client.get(f"/reconciliation/runs/{run.pk}/").content.decode()

    # The id escaped as the admin expects: a raw "rcx_24…" would read as "rcx$…".
    link = admin_change_path("reconciliation.reconciliationexception", exception.pk)
    assert f'href="{link}"' in html
    assert client.get(link).status_code == 200


def test_the_html_report_needs_a_login(client, reconciled):
    run, _ = reconciled
    response = client.get(f"/reconciliation/runs/{run.pk}/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_daily_job_reconciles_yesterday_once_per_agency(tenant, other_tenant, today):
    yesterday = today - timedelta(days=1)
    services.update_settings(tenant=other_tenant, daily_run_enabled=False)

    first = tasks.reconcile_yesterday()
    again = tasks.reconcile_yesterday()

    assert len(first) == 1 and again == []
    with tenant_scope(tenant):
        run = ReconciliationRun.objects.get()
        assert (run.period_start, run.period_end, run.trigger) == (yesterday, yesterday, "schedule")
        assert Event.objects.filter(type="reconciliation.completed", subject_id=run.pk).exists()
    with tenant_scope(other_tenant):
        assert not ReconciliationRun.objects.exists()


def test_the_daily_job_catches_up_a_day_whose_run_failed(tenant, today, monkeypatch):
    two_days_ago, yesterday = today - timedelta(days=2), today - timedelta(days=1)
    real_start_run = services.start_run

    def crash(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(daily, "start_run", crash)
    assert services.reconcile_yesterday_for_every_agency(today=yesterday) == []
    monkeypatch.setattr(daily, "start_run", real_start_run)
    # Two days ago had a scheduled run before: the failed day is not skipped.
    with tenant_scope(tenant):
        earlier = today - timedelta(days=3)
        services.start_run(
            tenant=tenant, period_start=earlier, period_end=earlier, trigger="schedule"
        )

    started = services.reconcile_yesterday_for_every_agency(today=today)

    with tenant_scope(tenant):
        runs = [ReconciliationRun.objects.get(pk=pk) for pk in started]
    assert [run.period_start for run in runs] == [two_days_ago, yesterday]
    assert services.reconcile_yesterday_for_every_agency(today=today) == []


def test_the_daily_catch_up_goes_back_a_week_at_most(tenant, today):
    long_ago = today - timedelta(days=30)
    with tenant_scope(tenant):
        services.start_run(
            tenant=tenant, period_start=long_ago, period_end=long_ago, trigger="schedule"
        )

    started = services.reconcile_yesterday_for_every_agency(today=today)

    with tenant_scope(tenant):
        days = sorted(ReconciliationRun.objects.get(pk=pk).period_start for pk in started)
    assert len(days) == daily.CATCH_UP_DAYS == 7
    assert days == [today - timedelta(days=n) for n in range(7, 0, -1)]


def test_the_completed_event_carries_the_totals(tenant, reconciled):
    run, _ = reconciled
    with tenant_scope(tenant):
        event = Event.objects.get(type="reconciliation.completed", subject_id=run.pk)
    assert event.payload["matched"] == run.matched_count == 1
    assert event.payload["totals"][0]["currency"] == "EUR"
    assert event.payload["totals"][0]["variance"] == 0


def test_settings_defaults_come_from_the_hub_settings(tenant, settings):
    settings.HUB_RECONCILIATION_DEFAULTS = {
        "date_window_days": 5,
        "amount_tolerance": 2,
        "lookback_days": 10,
    }
    created = services.update_settings(tenant=tenant)
    assert (created.date_window_days, created.amount_tolerance, created.lookback_days) == (5, 2, 10)


def test_superuser_sees_every_agency_report(client, reconciled, other_tenant):
    run, _ = reconciled
    admin = get_user_model().objects.create_superuser("op", "op@example.org", "pw-123456789")
    client.force_login(admin)
    assert client.get(f"/reconciliation/runs/{run.pk}/").status_code == 200
