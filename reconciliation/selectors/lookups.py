"""Finding expected items for statement lines: by reference, by batch, by amount and
date. Reads only; callers are inside the tenant's scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import F, Q

from payments.models import Payment, PaymentMethod, PaymentState
from reconciliation.engine.items import (
    NOT_YET_COLLECTED,
    ExpectedItem,
    PaymentFacts,
    channel_of,
    day_bounds,
    paid_refunds,
    payment_facts,
    payment_item,
    payout_item,
    refund_item,
    return_item,
    stripe_payouts,
    unmatched,
)
from reconciliation.models import ItemKind

S = PaymentState
STRIPE = "stripe"


@dataclass(frozen=True, slots=True)
class Uncollected:
    """A payment a reference points at that has not (or never) brought money in."""

    payment_id: str
    state: str
    channel: str

    @property
    def awaited(self) -> bool:
        return self.state in NOT_YET_COLLECTED


@dataclass
class Found:
    """What the tokens of a batch of lines point at."""

    credits: dict[str, list[ExpectedItem]] = field(default_factory=lambda: defaultdict(list))
    debits: dict[str, list[ExpectedItem]] = field(default_factory=lambda: defaultdict(list))
    uncollected: dict[str, list[Uncollected]] = field(default_factory=lambda: defaultdict(list))
    payments: dict[str, PaymentFacts] = field(default_factory=dict)  # for returns
    payment_hits: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def find_by_tokens(tokens: Iterable[str]) -> Found:
    """Payments (and their returns), refunds and Stripe payouts the tokens name."""
    tokens = {token for token in tokens if token}
    found = Found()
    if tokens:
        _find_payments(tokens, found)
        _find_refunds(tokens, found)
        _find_payouts(tokens, found)
    return found


def _find_payments(tokens: set[str], found: Found) -> None:
    hub_ids = [token for token in tokens if token.startswith("pay_")]
    by_field = [("pk", hub_ids), ("provider_reference", tokens), ("reference", tokens)]
    hits: dict[str, set[str]] = defaultdict(set)  # pay_… → tokens that name it
    for name, values in by_field:
        if not values:
            continue
        rows = Payment.objects.filter(**{f"{name}__any": list(values)}).values_list(
            "pk", "provider_reference", "reference"
        )
        for pk, provider_reference, reference in rows:
            token = {"pk": pk, "provider_reference": provider_reference, "reference": reference}[
                name
            ]
            hits[pk].add(token)
            found.payment_hits[token].add(pk)
    if not hits:
        return
    for payment in payment_facts(Payment.objects.filter(pk__any=list(hits))):
        found.payments[payment.pk] = payment
        for token in hits[payment.pk]:
            if payment.collected:
                found.credits[token].append(payment_item(payment))
            else:
                found.uncollected[token].append(
                    Uncollected(payment.pk, payment.state, channel_of(payment.provider))
                )
            if payment.returned_at is not None:
                found.debits[token].append(return_item(payment))


def _find_refunds(tokens: set[str], found: Found) -> None:
    hub_ids = [token for token in tokens if token.startswith("ref_")]
    for name, values in (("pk", hub_ids), ("provider_reference", tokens)):
        if values:
            for refund in paid_refunds().filter(**{f"{name}__any": list(values)}):
                found.debits[getattr(refund, name)].append(refund_item(refund))


def _find_payouts(tokens: set[str], found: Found) -> None:
    payout_ids = [token for token in tokens if token.startswith("po_")]
    if payout_ids:
        for payout in stripe_payouts().filter(statement_id__any=payout_ids):
            found.credits[payout.statement_id].append(payout_item(payout))


def payment_by_id(payment_id: str) -> PaymentFacts | None:
    facts = payment_facts(Payment.objects.filter(pk=payment_id))
    return facts[0] if facts else None


def by_batch_reference(reference: str) -> list[ExpectedItem]:
    """Unmatched collected payments of one collection run (its pain.008 PmtInfId)."""
    payments = unmatched(
        Payment.objects.filter(metadata__batch_reference=reference, state=S.SUCCESS),
        ItemKind.PAYMENT,
    )
    return [payment_item(payment) for payment in payment_facts(payments)]


def bank_credits_near(
    *, currency: str, amounts: Iterable[int], tolerance: int, start: date, end: date
) -> list[ExpectedItem]:
    """Unmatched bank-channel payments and Stripe payouts that could be one of
    ``amounts`` (± tolerance) dated between ``start`` and ``end``."""
    amounts = sorted(set(amounts))
    lower, upper = day_bounds(start, end)
    payments = (
        unmatched(
            Payment.objects.filter(
                state=S.SUCCESS, currency=currency, finished_at__gte=lower, finished_at__lt=upper
            ).exclude(provider=STRIPE),
            ItemKind.PAYMENT,
        )
        .alias(expected_amount=F("amount") - F("fee"))
        .filter(_amount_filter("expected_amount", amounts, tolerance))
    )
    items = [payment_item(payment) for payment in payment_facts(payments)]
    payouts = unmatched(
        stripe_payouts().filter(currency=currency, closing_date__range=(start, end)),
        ItemKind.PAYOUT,
    ).filter(_amount_filter("closing_balance", amounts, tolerance))
    return items + [payout_item(payout) for payout in payouts]


def direct_debits_between(*, currency: str, start: date, end: date) -> list[ExpectedItem]:
    """Unmatched bank-channel direct debits collected between ``start`` and ``end``:
    the candidates for a collection booked as one lump sum without its details."""
    lower, upper = day_bounds(start, end)
    payments = unmatched(
        Payment.objects.filter(
            state=S.SUCCESS,
            method=PaymentMethod.DIRECT_DEBIT,
            currency=currency,
            finished_at__gte=lower,
            finished_at__lt=upper,
        ).exclude(provider=STRIPE),
        ItemKind.PAYMENT,
    )
    return [payment_item(payment) for payment in payment_facts(payments)]


def item_by_id(object_id: str) -> ExpectedItem | None:
    """The expected item a finance user names by id: pay_… (a collected payment),
    ref_… (a paid refund) or stm_… (a Stripe payout). None if there is no such item."""
    if object_id.startswith("pay_"):
        payment = payment_by_id(object_id)
        return payment_item(payment) if payment is not None and payment.collected else None
    if object_id.startswith("ref_"):
        refund = paid_refunds().filter(pk=object_id).first()
        return refund_item(refund) if refund else None
    if object_id.startswith("stm_"):
        payout = stripe_payouts().filter(pk=object_id).first()
        return payout_item(payout) if payout else None
    return None


def _amount_filter(name: str, amounts: list[int], tolerance: int) -> Q:
    if tolerance == 0:
        return Q(**{f"{name}__in": amounts})
    condition = Q()
    for amount in amounts:
        condition |= Q(**{f"{name}__range": (amount - tolerance, amount + tolerance)})
    return condition
