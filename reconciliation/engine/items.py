"""Expected money: what the hub's books say should appear on a statement.

An item is one movement the hub caused, with the signed amount it should show as on
the account that reports it:

- ``payment``: a collected payment (money in). Settled through Stripe it appears as a
  Stripe balance transaction at its gross amount; otherwise (sandbox, bank-file direct
  debits) it arrives in the agency's bank account net of the provider's fee.
- ``refund``: money given back (money out), on the same channel as its payment.
- ``return``: a collected direct debit the payer's bank took back (money out).
- ``payout``: a Stripe payout (an imported payout "statement") arriving in the bank.

Payments are read as plain values (``PaymentFacts``), not model instances: a run reads
every payment of its period, and building a Django model per row was most of its time.
Reads only; callers are inside the tenant's scope.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from payments.models import Payment, PaymentEvent, PaymentMethod, PaymentState, Refund
from reconciliation.models import BankStatement, Channel, ItemKind, MatchItem

S = PaymentState
STRIPE = "stripe"
NOT_YET_COLLECTED = frozenset({S.CREATED, S.STARTED, S.SUBMITTED})


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


@dataclass(slots=True)
class PaymentFacts:
    """What reconciliation needs to know about a payment."""

    pk: str
    provider: str
    method: str
    state: str
    amount: int
    fee: int
    currency: str
    reference: str
    payer: str
    finished_at: datetime | None
    collected_at: datetime | None = None  # when the money came in
    returned_at: datetime | None = None  # when a collected direct debit went back

    @property
    def collected(self) -> bool:
        return self.state == S.SUCCESS or self.returned_at is not None


FACT_FIELDS = (
    "id",
    "provider",
    "method",
    "state",
    "amount",
    "fee",
    "currency",
    "reference",
    "constituent__name",
    "metadata__payer_name",
    "finished_at",
)


def payment_facts(queryset: QuerySet[Payment]) -> list[PaymentFacts]:
    return facts_from_rows(list(queryset.values_list(*FACT_FIELDS)))


def facts_from_rows(rows: list[tuple]) -> list[PaymentFacts]:
    """PaymentFacts from ``values_list(*FACT_FIELDS)`` rows."""
    facts = []
    for row in rows:
        pk, provider, method, state, amount, fee, currency, reference, name, payer, done = row
        facts.append(
            PaymentFacts(
                pk=pk,
                provider=provider,
                method=method,
                state=state,
                amount=amount,
                fee=fee,
                currency=currency,
                reference=reference,
                payer=name or (payer if isinstance(payer, str) else ""),
                finished_at=done,
            )
        )
    _add_money_moments(facts)
    return facts


def _add_money_moments(payments: list[PaymentFacts]) -> None:
    """When the money came in and, for a returned direct debit, went out again. A
    success's finished_at is its collection; only failed payments (a return is a
    failure) need their timeline read."""
    failed = [
        p.pk for p in payments if p.state == S.FAILED and p.method == PaymentMethod.DIRECT_DEBIT
    ]
    moments: dict[str, dict[str, datetime]] = defaultdict(dict)
    if failed:
        events = PaymentEvent.objects.filter(payment_id__any=failed, applied=True).order_by(
            "occurred_at"
        )
        for payment_id, from_state, to_state, occurred_at in events.values_list(
            "payment_id", "from_state", "to_state", "occurred_at"
        ):
            if to_state == S.SUCCESS:
                moments[payment_id].setdefault("collected", occurred_at)
            elif from_state == S.SUCCESS and to_state == S.FAILED:
                moments[payment_id].setdefault("returned", occurred_at)
    for payment in payments:
        if payment.state == S.SUCCESS:
            payment.collected_at = payment.finished_at
        else:
            found = moments.get(payment.pk, {})
            payment.collected_at = found.get("collected")
            payment.returned_at = found.get("returned")


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


# --- items ------------------------------------------------------------------------------


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


def refund_item(refund: Refund) -> ExpectedItem:
    payment = refund.payment
    payer = payment.constituent.name if payment.constituent_id else ""
    return ExpectedItem(
        kind=ItemKind.REFUND,
        object_id=refund.pk,
        channel=channel_of(payment.provider),
        currency=payment.currency,
        amount=-refund.amount,
        date=local_date(refund.finished_at or refund.created_at),
        reference=payment.reference,
        counterparty=payer or str((payment.metadata or {}).get("payer_name") or ""),
        method=payment.method,
        provider=payment.provider,
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


# --- shared querysets -------------------------------------------------------------------


def paid_refunds() -> QuerySet[Refund]:
    return Refund.objects.select_related("payment", "payment__constituent").filter(
        state=Refund.State.SUCCESS
    )


def stripe_payouts() -> QuerySet[BankStatement]:
    return BankStatement.objects.filter(channel=Channel.STRIPE)


def unmatched(queryset: QuerySet, kind: str) -> QuerySet:
    return queryset.exclude(Exists(MatchItem.objects.filter(kind=kind, object_id=OuterRef("pk"))))


def matched_keys(items: Iterable[ExpectedItem]) -> set[tuple[str, str]]:
    """Which of ``items`` are matched already (by any run or by hand)."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for item in items:
        by_kind[item.kind].append(item.object_id)
    keys = set()
    for kind, ids in by_kind.items():
        rows = MatchItem.objects.filter(kind=kind, object_id__any=ids).values_list(
            "kind", "object_id"
        )
        keys.update(rows)
    return keys


def batched(rows: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` rows (itertools.batched arrives in Python 3.12)."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
