"""The rows every report format shares: one per run item, columns in one place."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from reconciliation.models import ReconciliationRun, RunItem
from tenants.scope import tenant_scope

CHUNK = 2000

COLUMNS = [
    "status",
    "date",
    "channel",
    "currency",
    "statement_line",
    "statement_amount",
    "item_kind",
    "item_id",
    "expected_amount",
    "difference",
    "reference",
    "counterparty",
    "method",
    "match",
    "exception",
    "reason",
]
MONEY_COLUMNS = {"statement_amount", "expected_amount", "difference"}


@dataclass(frozen=True)
class ReportRow:
    values: dict

    @property
    def currency(self) -> str:
        return self.values["currency"]


def report_rows(run: ReconciliationRun, status: str | None = None) -> Iterator[ReportRow]:
    """Every row of ``run`` in report order, read in chunks (safe for huge runs and for
    streaming responses, which run after the request's tenant scope has ended)."""
    last = 0
    while True:
        with tenant_scope(run.tenant):
            items = RunItem.objects.filter(run=run, id__gt=last).select_related("match")
            if status:
                items = items.filter(status=status)
            chunk = list(items.order_by("id")[:CHUNK])
        if not chunk:
            return
        last = chunk[-1].id
        for item in chunk:
            yield ReportRow(_values(item))


def _values(item: RunItem) -> dict:
    difference = None
    if item.reported_amount is not None:
        if item.match is not None:
            difference = item.match.reported_amount - item.match.expected_amount
        elif item.expected_amount is not None:
            difference = item.reported_amount - item.expected_amount
    return {
        "status": item.status,
        "date": item.date.isoformat(),
        "channel": item.channel,
        "currency": item.currency,
        "statement_line": item.line_id or "",
        "statement_amount": item.reported_amount,
        "item_kind": item.item_kind,
        "item_id": item.item_id,
        "expected_amount": item.expected_amount,
        "difference": difference,
        "reference": item.reference,
        "counterparty": item.counterparty,
        "method": item.method,
        "match": item.match_id or "",
        "exception": item.exception_id or "",
        "reason": item.reason,
    }


TOTAL_COLUMNS = [
    ("gross", "Gross collected"),
    ("fees", "Fees"),
    ("refunds", "Refunds"),
    ("returns", "Returns"),
    ("net", "Net"),
    ("expected", "Expected in bank"),
    ("received", "Received in bank"),
    ("variance", "Variance (received - expected)"),
    ("provider_fees", "Stripe fees reported"),
    ("statement_opening", "Statement opening balance"),
    ("statement_closing", "Statement closing balance"),
    ("closing_variance", "Variance against closing balance"),
]
COUNT_COLUMNS = [
    ("matched", "Matched"),
    ("unmatched_expected", "Unmatched expected"),
    ("unmatched_reported", "Unmatched reported"),
    ("exceptions", "Exceptions"),
]
