"""The finance report pages (HTML, CSV and XLSX downloads) for people, not API keys.

Reached from the admin. Hub operators see every agency's runs; agency staff with the
finance, agency-admin or auditor role see their own agencies' runs only, and another
agency's run is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from reconciliation.models import ReconciliationRun, RunItem
from reconciliation.reports.chart import daily_chart
from reconciliation.reports.csv_report import csv_lines, file_name
from reconciliation.reports.rows import COUNT_COLUMNS, TOTAL_COLUMNS
from reconciliation.reports.xlsx_report import xlsx_file
from reconciliation.selectors import run_exceptions, run_items
from tenants.admin_scoping import Role
from tenants.scope import all_tenants, tenant_scope
from tenants.selectors import tenants_for_user, user_has_role

REPORT_ROLES = [Role.FINANCE, Role.AGENCY_ADMIN, Role.AUDITOR]
ROWS_SHOWN = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _visible_run(request, run_id: str) -> ReconciliationRun:
    # Staff report pages are admin views with no tenant scope: find the run by id,
    # then check the user's role in its agency (below).
    with all_tenants():
        run = ReconciliationRun.objects.select_related("tenant").filter(pk=run_id).first()
    if run is None or not user_has_role(request.user, run.tenant, REPORT_ROLES):
        raise Http404("No such reconciliation run")
    return run


@staff_member_required
def run_list(request):
    tenants = tenants_for_user(request.user, REPORT_ROLES)
    # Staff report pages are admin views with no tenant scope: the filter keeps to the
    # agencies where the user holds a report role.
    with all_tenants():
        runs = list(
            ReconciliationRun.objects.select_related("tenant")
            .filter(tenant__in=tenants)
            .order_by("-created_at")[:200]
        )
    context = {**admin.site.each_context(request), "runs": runs, "title": "Reconciliation runs"}
    return render(request, "reconciliation/run_list.html", context)


@staff_member_required
def run_report(request, run_id: str):
    run = _visible_run(request, run_id)
    with tenant_scope(run.tenant):
        sections = [
            (label, list(run_items(run, status)[: ROWS_SHOWN + 1]))
            for status, label in (
                (RunItem.Status.EXCEPTION, "Exceptions"),
                (RunItem.Status.UNMATCHED_EXPECTED, "Expected, not received"),
                (RunItem.Status.UNMATCHED_REPORTED, "Received, not expected by the hub"),
                (RunItem.Status.RESOLVED, "Resolved by hand"),
                (RunItem.Status.MATCHED, "Matched"),
            )
        ]
        exceptions = list(run_exceptions(run))
    currencies = [
        {
            "code": currency,
            "totals": [(label, figures.get(key)) for key, label in TOTAL_COLUMNS],
            "counts": [(label, figures.get(key, 0)) for key, label in COUNT_COLUMNS],
            # Built from escaped pieces only (reconciliation/reports/chart.py).
            "chart": mark_safe(daily_chart(run.daily.get(currency, {}), currency)),  # noqa: S308
            "days": sorted(run.daily.get(currency, {}).items()),
        }
        for currency, figures in sorted(run.totals.items())
    ]
    context = {
        **admin.site.each_context(request),
        "title": f"Reconciliation {run.period_start} to {run.period_end}",
        "run": run,
        "currencies": currencies,
        "sections": [
            (label, rows[:ROWS_SHOWN], len(rows) > ROWS_SHOWN) for label, rows in sections
        ],
        "exceptions": exceptions,
        "rows_shown": ROWS_SHOWN,
    }
    return render(request, "reconciliation/run_report.html", context)


@staff_member_required
def run_report_csv(request, run_id: str):
    run = _visible_run(request, run_id)
    response = StreamingHttpResponse(csv_lines(run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name(run, "csv")}"'
    return response


@staff_member_required
def run_report_xlsx(request, run_id: str):
    run = _visible_run(request, run_id)
    return FileResponse(
        xlsx_file(run), as_attachment=True, filename=file_name(run, "xlsx"), content_type=XLSX
    )
