"""The expected items of a period, in chunks, and how report rows describe items."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date

from django.db.models import QuerySet

from payments.models import Payment, PaymentEvent, PaymentState
from reconciliation.expected import (
    ExpectedItem,
    chunks,
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


def items_dated(
    start: date, end: date, *, chunk_size: int, only_unmatched: bool = False
) -> Iterator[list[ExpectedItem]]:
    """Every item dated in [start, end]: collections, returns, refunds and payouts
    (``only_unmatched``: those nothing has matched yet), in chunks of ``chunk_size``."""

    def pending(queryset: QuerySet, kind: str) -> QuerySet:
        return unmatched(queryset, kind) if only_unmatched else queryset

    lower, upper = day_bounds(start, end)
    collected = Payment.objects.filter(
        state=S.SUCCESS, finished_at__gte=lower, finished_at__lt=upper
    )
    yield from chunks(pending(collected, ItemKind.PAYMENT), chunk_size, _payments)
    # A returned debit's finished_at is its return: its collection is in the timeline.
    for kind, moment in ((ItemKind.PAYMENT, S.SUCCESS), (ItemKind.RETURN, S.FAILED)):
        events = PaymentEvent.objects.filter(
            applied=True, to_state=moment, occurred_at__gte=lower, occurred_at__lt=upper
        )
        returned = Payment.objects.filter(
            state=S.FAILED,
            pk__in=PaymentEvent.objects.filter(
                applied=True, from_state=S.SUCCESS, to_state=S.FAILED
            ).values("payment_id"),
        ).filter(pk__in=events.values("payment_id"))
        yield from chunks(pending(returned, kind), chunk_size, _returned(kind, lower, upper))
    refunds = paid_refunds().filter(finished_at__gte=lower, finished_at__lt=upper)
    yield from chunks(
        pending(refunds, ItemKind.REFUND), chunk_size, lambda page: _pairs(page, refund_item)
    )
    payouts = stripe_payouts().filter(closing_date__range=(start, end))
    yield from chunks(
        pending(payouts, ItemKind.PAYOUT), chunk_size, lambda page: _pairs(page, payout_item)
    )


def _payments(page: QuerySet) -> list[tuple[str, ExpectedItem]]:
    return [(facts.pk, payment_item(facts)) for facts in payment_facts(page)]


def _returned(kind: str, lower, upper):
    """Builds the collection (or the return) of returned debits, if it fell in range."""
    build = payment_item if kind == ItemKind.PAYMENT else return_item

    def page_items(page: QuerySet) -> list[tuple[str, ExpectedItem | None]]:
        pairs = []
        for facts in payment_facts(page):
            moment = facts.collected_at if kind == ItemKind.PAYMENT else facts.returned_at
            inside = moment is not None and lower <= moment < upper
            pairs.append((facts.pk, build(facts) if inside else None))
        return pairs

    return page_items


def _pairs(page: QuerySet, build) -> list[tuple[str, ExpectedItem]]:
    return [(row.pk, build(row)) for row in page]


def describe(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(reference, payer) of matched items, for report rows."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, object_id in keys:
        by_kind[kind].append(object_id)
    result: dict[tuple[str, str], tuple[str, str]] = {}
    payment_ids = by_kind[ItemKind.PAYMENT] + by_kind[ItemKind.RETURN]
    if payment_ids:
        rows = Payment.objects.filter(pk__in=payment_ids).values_list(
            "pk", "reference", "constituent__name"
        )
        for pk, reference, name in rows:
            for kind in (ItemKind.PAYMENT, ItemKind.RETURN):
                result[(kind, pk)] = (reference, name or "")
    if by_kind[ItemKind.REFUND]:
        rows = paid_refunds().filter(pk__in=by_kind[ItemKind.REFUND])
        for refund in rows:
            result[(ItemKind.REFUND, refund.pk)] = (refund.payment.reference, "")
    if by_kind[ItemKind.PAYOUT]:
        rows = (
            stripe_payouts()
            .filter(pk__in=by_kind[ItemKind.PAYOUT])
            .values_list("pk", "statement_id")
        )
        for pk, statement_id in rows:
            result[(ItemKind.PAYOUT, pk)] = (statement_id, "Stripe")
    return result
