"""A run's money totals, per currency, as finance teams read them.

From the hub's books (items dated in the period): ``gross`` collected, provider
``fees``, ``refunds``, direct-debit ``returns`` and ``net`` = gross - fees - refunds -
returns.

Against the bank: ``expected`` is what should have moved on the agency's bank account
for items dated in the period (collections net of fee, less refunds and returns, plus
Stripe payouts arriving); ``received`` is what the bank statements booked in the period
for the hub (every credit, and the debits the hub explains); ``variance`` = received -
expected. ``closing_variance`` compares the statements themselves: the closing balance
less (opening balance + expected), i.e. what the account did that the hub does not
account for. Timing differences (a payment of the last day booked the next) show in
both until the next period's run.

Pure arithmetic over the items and lines a run hands in; the statements' balances are
read by the run (reconciliation/selectors/statements.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from reconciliation.engine.items import ExpectedItem
from reconciliation.models import Channel, ItemKind, StatementLine


@dataclass
class CurrencyTotals:
    gross: int = 0
    fees: int = 0
    refunds: int = 0
    returns: int = 0
    expected: int = 0
    received: int = 0
    provider_fees: int = 0
    daily: dict[date, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def as_dict(self) -> dict:
        return {
            "gross": self.gross,
            "fees": self.fees,
            "refunds": self.refunds,
            "returns": self.returns,
            "net": self.gross - self.fees - self.refunds - self.returns,
            "expected": self.expected,
            "received": self.received,
            "variance": self.received - self.expected,
            "provider_fees": self.provider_fees,
        }


class Totals:
    def __init__(self) -> None:
        self.by_currency: dict[str, CurrencyTotals] = defaultdict(CurrencyTotals)

    def add_item(self, item: ExpectedItem) -> None:
        totals = self.by_currency[item.currency]
        if item.kind == ItemKind.PAYMENT:
            totals.gross += item.gross
            totals.fees += item.fee
        elif item.kind == ItemKind.REFUND:
            totals.refunds += item.gross
        elif item.kind == ItemKind.RETURN:
            totals.returns += item.gross
        if item.channel == Channel.BANK:
            totals.expected += item.amount
            totals.daily[item.date][0] += item.amount

    def add_payments_summed(
        self, *, channel: str, currency: str, day: date, gross: int, fee: int
    ) -> None:
        """``add_item`` for payments of one channel, currency and day summed already
        (``gross`` and ``fee`` are the sums of their amounts and fees)."""
        totals = self.by_currency[currency]
        totals.gross += gross
        totals.fees += fee
        if channel == Channel.BANK:
            # Each bank item's amount is its gross less its fee (payment_item).
            totals.expected += gross - fee
            totals.daily[day][0] += gross - fee

    def add_received(self, line: StatementLine) -> None:
        totals = self.by_currency[line.currency]
        totals.received += line.amount
        totals.daily[line.booking_date][1] += line.amount

    def add_provider_fee(self, line: StatementLine) -> None:
        self.by_currency[line.currency].provider_fees += line.fee

    def add_received_on(self, currency: str, day: date, amount: int) -> None:
        """``add_received`` for lines summed already (a day's lines reported in SQL)."""
        totals = self.by_currency[currency]
        totals.received += amount
        totals.daily[day][1] += amount

    def add_provider_fees(self, currency: str, fees: int) -> None:
        self.by_currency[currency].provider_fees += fees

    def result(
        self, *, start: date, end: date, balances: dict[str, tuple[int, int]]
    ) -> tuple[dict, dict]:
        """(totals, daily) as stored on the run: JSON with integer minor units.
        ``balances``: per currency, the statements' (opening, closing) balance over the
        period (``selectors.statements.statement_balances``)."""
        totals, daily = {}, {}
        for currency in sorted(set(self.by_currency) | set(balances)):
            figures = self.by_currency[currency]
            row = figures.as_dict()
            opening, closing = balances.get(currency, (None, None))
            row["statement_opening"] = opening
            row["statement_closing"] = closing
            row["statement_movement"] = None if opening is None else closing - opening
            row["closing_variance"] = (
                None if opening is None else closing - (opening + figures.expected)
            )
            totals[currency] = row
            daily[currency] = {
                day.isoformat(): figures.daily[day]
                for day in sorted(figures.daily)
                if start <= day <= end
            }
        return totals, daily
