"""Expected money: what the hub's books say should appear on a statement, as the plain
values the matching engine works on.

An item is one movement the hub caused, with the signed amount it should show as on
the account that reports it:

- ``payment``: a collected payment (money in). Settled through Stripe it appears as a
  Stripe balance transaction at its gross amount; otherwise (sandbox, bank-file direct
  debits) it arrives in the agency's bank account net of the provider's fee.
- ``refund``: money given back (money out), on the same channel as its payment.
- ``return``: a collected direct debit the payer's bank took back (money out).
- ``payout``: a Stripe payout (an imported payout "statement") arriving in the bank.

Items are built from the facts payments gives (``payments.selectors.PaymentFacts``,
``RefundFacts``) and from reconciliation's own payout statements; nothing here reads
the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from payments.selectors import PaymentFacts, RefundFacts
from reconciliation.models import BankStatement, Channel, ItemKind, StatementLine

STRIPE = "stripe"
# Stripe balance transaction types: money in for a payment, and money back for a return.
STRIPE_CREDIT_KINDS = frozenset({"charge", "payment"})
STRIPE_RETURN_KINDS = frozenset({"payment_failure_refund", "payment_refund"})


@dataclass(frozen=True, slots=True)
class ExpectedItem:
    kind: str
    object_id: str
    channel: str
    currency: str
    amount: int  # signed minor units as it should appear on the statement
    date: date
    reference: str = ""
    counterparty: str = ""
    method: str = ""
    provider: str = ""
    gross: int = 0  # payments: the amount the payer paid
    fee: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.object_id)


@dataclass
class PlannedMatch:
    """A match decided and not written yet (``pk`` is final already)."""

    pk: str
    method: str
    channel: str
    currency: str
    lines: list[StatementLine]
    items: list[ExpectedItem]
    note: str = ""

    @property
    def reported_amount(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def expected_amount(self) -> int:
        return sum(item.amount for item in self.items)


@dataclass(frozen=True, slots=True)
class Uncollected:
    """A payment a reference points at that has not (or never) brought money in."""

    payment_id: str
    state: str
    channel: str
    awaited: bool  # not finished yet: the money may still come


@dataclass
class Found:
    """What the tokens of a batch of lines point at."""

    credits: dict[str, list[ExpectedItem]] = field(default_factory=lambda: defaultdict(list))
    debits: dict[str, list[ExpectedItem]] = field(default_factory=lambda: defaultdict(list))
    uncollected: dict[str, list[Uncollected]] = field(default_factory=lambda: defaultdict(list))
    payments: dict[str, PaymentFacts] = field(default_factory=dict)  # for returns
    payment_hits: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def channel_of(provider: str) -> str:
    return Channel.STRIPE if provider == STRIPE else Channel.BANK


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the hub's time zone, for datetime filters."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def uncollected(payment: PaymentFacts) -> Uncollected:
    return Uncollected(
        payment.pk, payment.state, channel_of(payment.provider), payment.awaiting_collection
    )


def payment_item(payment: PaymentFacts) -> ExpectedItem:
    channel = channel_of(payment.provider)
    return ExpectedItem(
        kind=ItemKind.PAYMENT,
        object_id=payment.pk,
        channel=channel,
        currency=payment.currency,
        # Stripe reports the gross charge and its fee apart; the other providers pay
        # the agency's bank the net amount.
        amount=payment.amount if channel == Channel.STRIPE else payment.amount - payment.fee,
        date=local_date(payment.collected_at or payment.finished_at),
        reference=payment.reference,
        counterparty=payment.payer,
        method=payment.method,
        provider=payment.provider,
        gross=payment.amount,
        fee=payment.fee,
    )


def return_item(payment: PaymentFacts) -> ExpectedItem:
    return ExpectedItem(
        kind=ItemKind.RETURN,
        object_id=payment.pk,
        channel=channel_of(payment.provider),
        currency=payment.currency,
        amount=-payment.amount,
        date=local_date(payment.returned_at or payment.finished_at),
        reference=payment.reference,
        counterparty=payment.payer,
        method=payment.method,
        provider=payment.provider,
        gross=payment.amount,
    )


def refund_item(refund: RefundFacts) -> ExpectedItem:
    return ExpectedItem(
        kind=ItemKind.REFUND,
        object_id=refund.pk,
        channel=channel_of(refund.provider),
        currency=refund.currency,
        amount=-refund.amount,
        date=local_date(refund.finished_at or refund.created_at),
        reference=refund.reference,
        counterparty=refund.payer,
        method=refund.method,
        provider=refund.provider,
        gross=refund.amount,
    )


def payout_item(payout: BankStatement) -> ExpectedItem:
    return ExpectedItem(
        kind=ItemKind.PAYOUT,
        object_id=payout.pk,
        channel=Channel.BANK,
        currency=payout.currency,
        amount=payout.closing_balance,
        date=payout.closing_date or payout.created_at.date(),
        reference=payout.statement_id,
        counterparty="Stripe",
        provider=STRIPE,
        gross=payout.closing_balance,
    )
