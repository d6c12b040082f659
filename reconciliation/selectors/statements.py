"""Reads about the imported statements themselves: Stripe payouts, balances, and how far
each channel has been reported. Callers are inside the tenant's scope."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Max, QuerySet

from reconciliation.models import BankStatement, Channel, StatementLine, StatementLineDetail


def stripe_payouts() -> QuerySet[BankStatement]:
    return BankStatement.objects.filter(channel=Channel.STRIPE)


def statement_balances(start: date, end: date) -> dict[str, tuple[int, int]]:
    """Per currency: the opening balance of each bank account's first statement closing
    in the period and the closing balance of its last, summed over accounts."""
    first: dict[tuple[str, str], BankStatement] = {}
    last: dict[tuple[str, str], BankStatement] = {}
    statements = BankStatement.objects.filter(
        channel=Channel.BANK, closing_date__range=(start, end)
    ).order_by("closing_date", "created_at", "pk")
    for statement in statements.only(
        "account", "currency", "opening_balance", "closing_balance", "closing_date"
    ):
        key = (statement.currency, statement.account)
        first.setdefault(key, statement)
        last[key] = statement
    result: dict[str, tuple[int, int]] = {}
    for (currency, account), statement in first.items():
        opening, closing = result.get(currency, (0, 0))
        result[currency] = (
            opening + statement.opening_balance,
            closing + last[(currency, account)].closing_balance,
        )
    return result


def reported_up_to(end: date) -> dict[tuple[str, str], date]:
    """How far each channel and currency has been reported (capped at ``end``): an item
    is missing only once the statements covering its due date are in."""
    reported: dict[tuple[str, str], date] = {}
    bank = (
        BankStatement.objects.filter(channel=Channel.BANK)
        .values("currency")
        .annotate(last=Max("closing_date"))
        .order_by()
    )
    for row in bank:
        if row["last"] is not None:
            reported[(Channel.BANK, row["currency"])] = min(row["last"], end)
    stripe = (
        StatementLine.objects.filter(channel=Channel.STRIPE)
        .values("currency")
        .annotate(last=Max("booking_date"))
        .order_by()
    )
    for row in stripe:
        reported[(Channel.STRIPE, row["currency"])] = min(row["last"], end)
    return reported


def line_details(line_ids: list[str]) -> dict[str, list[StatementLineDetail]]:
    """The underlying transactions of these lines (a batch booking's), in file order."""
    details: dict[str, list[StatementLineDetail]] = defaultdict(list)
    if line_ids:
        for detail in StatementLineDetail.objects.filter(line_id__any=line_ids).order_by("id"):
            details[detail.line_id].append(detail)
    return details


def reversal_candidates(line: StatementLine, *, lookback: timedelta) -> list[StatementLine]:
    """The bookings ``line`` may reverse: the same account and currency, the opposite
    amount, booked before it within ``lookback`` (the latest 20)."""
    return list(
        StatementLine.objects.filter(
            statement__account=line.statement.account,
            currency=line.currency,
            amount=-line.amount,
            is_reversal=False,
            booking_date__lte=line.booking_date,
            booking_date__gte=line.booking_date - lookback,
        )
        .exclude(pk=line.pk)
        .order_by("-booking_date", "-position")[:20]
    )
