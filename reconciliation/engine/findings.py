"""A problem the engine found (a finding), before it is written as an exception.

The exception book (reconciliation/services/exception_book.py) keeps one exception per
fingerprint, however many runs find the same problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from reconciliation.engine.items import ExpectedItem, PlannedMatch
from reconciliation.models import StatementLine


@dataclass
class Finding:
    kind: str
    channel: str
    currency: str
    occurred_on: date
    reason: str
    line: StatementLine | None = None
    item: ExpectedItem | None = None
    expected_amount: int | None = None
    reported_amount: int | None = None
    match: PlannedMatch | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def about_line(cls, kind: str, line: StatementLine, reason: str, **found) -> Finding:
        """A finding about a statement line (``found``: the item, expected amount or
        match it concerns)."""
        return cls(
            kind=kind,
            channel=line.channel,
            currency=line.currency,
            occurred_on=line.booking_date,
            reason=reason,
            line=line,
            reported_amount=line.amount,
            **found,
        )

    @property
    def fingerprint(self) -> str:
        if self.line is not None:
            return f"{self.kind}:line:{self.line.pk}"
        return f"{self.kind}:{self.item.kind}:{self.item.object_id}"
