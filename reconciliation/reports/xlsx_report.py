"""The run report as an XLSX workbook: Summary, Items and Exceptions sheets.

Written in openpyxl's write-only mode (rows stream to a temporary file, so a 100,000-
row run does not build a workbook in memory). Amounts are numeric cells in major units
with the currency's decimals (Decimal, never float); text is neutralised against
formula injection like the CSV.
"""

from __future__ import annotations

import tempfile

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from reconciliation.models import ReconciliationRun
from reconciliation.reports.cells import money, number_format, safe_text
from reconciliation.reports.rows import (
    COLUMNS,
    COUNT_COLUMNS,
    MONEY_COLUMNS,
    TOTAL_COLUMNS,
    report_rows,
)
from reconciliation.selectors import run_exceptions
from tenants.scope import tenant_scope

BOLD = Font(bold=True)
EXCEPTION_COLUMNS = [
    "id",
    "kind",
    "state",
    "occurred_on",
    "currency",
    "expected_amount",
    "reported_amount",
    "statement_line",
    "item",
    "reason",
    "resolution",
    "resolution_note",
]


def xlsx_file(run: ReconciliationRun):
    """A temporary file holding the workbook, positioned at its start."""
    workbook = Workbook(write_only=True)
    _summary(workbook, run)
    _items(workbook, run)
    _exceptions(workbook, run)
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output


def _header(sheet, names: list[str]):
    cells = []
    for name in names:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = BOLD
        cells.append(cell)
    return cells


def _amount(sheet, minor: int | None, currency: str):
    cell = WriteOnlyCell(sheet, value=money(minor, currency))
    cell.number_format = number_format(currency)
    return cell


def _summary(workbook: Workbook, run: ReconciliationRun) -> None:
    sheet = workbook.create_sheet("Summary")
    sheet.append(["Reconciliation run", run.pk])
    sheet.append(["Agency", safe_text(run.tenant.name)])
    sheet.append(["Period", f"{run.period_start} to {run.period_end}"])
    sheet.append(["Date window (days)", run.date_window_days])
    sheet.append(["Amount tolerance (minor units)", run.amount_tolerance])
    sheet.append([])
    sheet.append(
        _header(sheet, ["Currency"] + [label for _, label in TOTAL_COLUMNS + COUNT_COLUMNS])
    )
    for currency, figures in sorted(run.totals.items()):
        row = [currency]
        row += [_amount(sheet, figures.get(key), currency) for key, _ in TOTAL_COLUMNS]
        row += [figures.get(key, 0) for key, _ in COUNT_COLUMNS]
        sheet.append(row)


def _items(workbook: Workbook, run: ReconciliationRun) -> None:
    sheet = workbook.create_sheet("Items")
    sheet.append(_header(sheet, COLUMNS))
    for row in report_rows(run):
        cells = []
        for name in COLUMNS:
            value = row.values[name]
            if name in MONEY_COLUMNS:
                cells.append(_amount(sheet, value, row.currency))
            else:
                cells.append(safe_text(value))
        sheet.append(cells)


def _exceptions(workbook: Workbook, run: ReconciliationRun) -> None:
    sheet = workbook.create_sheet("Exceptions")
    sheet.append(_header(sheet, EXCEPTION_COLUMNS))
    with tenant_scope(run.tenant):
        exceptions = list(run_exceptions(run))
    for exception in exceptions:
        item = f"{exception.item_kind} {exception.item_id}".strip()
        sheet.append(
            [
                exception.pk,
                exception.kind,
                exception.state,
                exception.occurred_on.isoformat(),
                exception.currency,
                _amount(sheet, exception.expected_amount, exception.currency),
                _amount(sheet, exception.reported_amount, exception.currency),
                exception.line_id or "",
                item,
                safe_text(exception.reason),
                exception.resolution,
                safe_text(exception.resolution_note),
            ]
        )
