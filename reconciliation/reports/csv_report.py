"""The run report as CSV, streamed row by row."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from reconciliation.models import ReconciliationRun
from reconciliation.reports.cells import money_text, safe_text
from reconciliation.reports.rows import COLUMNS, MONEY_COLUMNS, report_rows


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(run: ReconciliationRun) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a byte order mark: Excel then reads the file as UTF-8
    yield writer.writerow(COLUMNS)
    for row in report_rows(run):
        yield writer.writerow([_cell(name, row.values[name], row.currency) for name in COLUMNS])


def _cell(name: str, value: object, currency: str) -> str:
    if name in MONEY_COLUMNS:
        return money_text(value, currency)
    # Every text cell, not only those from banks and payers: cheap, and no column can
    # be forgotten when one is added.
    return safe_text(value)


def file_name(run: ReconciliationRun, extension: str) -> str:
    return f"reconciliation-{run.period_start}-{run.period_end}-{run.pk}.{extension}"
