"""The expected items of a period, in chunks, and how report rows describe items."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.db.models import QuerySet

from payments.models import Payment, PaymentEvent, PaymentState
from reconciliation.engine.items import (
    FACT_FIELDS,
    ExpectedItem,
    PaymentFacts,
    batched,
    day_bounds,
    facts_from_rows,
    paid_refunds,
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
    (``only_unmatched``: those nothing has matched yet), in chunks of ``chunk_size``.

    Each kind is one query read through a server-side cursor (PostgreSQL) as the chunks
    are consumed: one pass over the rows, and memory stays that of one chunk."""

    def pending(queryset: QuerySet, kind: str) -> QuerySet:
        return unmatched(queryset, kind) if only_unmatched else queryset

    def stream(queryset: QuerySet):
        return batched(queryset.iterator(chunk_size=chunk_size), chunk_size)

    lower, upper = day_bounds(start, end)
    collected = Payment.objects.filter(
        state=S.SUCCESS, finished_at__gte=lower, finished_at__lt=upper
    )
    for rows in stream(pending(collected, ItemKind.PAYMENT).values_list(*FACT_FIELDS)):
        yield [payment_item(facts) for facts in facts_from_rows(rows)]
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
        for rows in stream(pending(returned, kind).values_list(*FACT_FIELDS)):
            items = _returned_in_range(facts_from_rows(rows), kind, lower, upper)
            if items:
                yield items
    refunds = paid_refunds().filter(finished_at__gte=lower, finished_at__lt=upper)
    for rows in stream(pending(refunds, ItemKind.REFUND)):
        yield [refund_item(refund) for refund in rows]
    payouts = stripe_payouts().filter(closing_date__range=(start, end))
    for rows in stream(pending(payouts, ItemKind.PAYOUT)):
        yield [payout_item(payout) for payout in rows]


def _returned_in_range(
    payments: list[PaymentFacts], kind: str, lower: datetime, upper: datetime
) -> list[ExpectedItem]:
    """The collection (or the return) of returned debits, if it fell in range."""
    build = payment_item if kind == ItemKind.PAYMENT else return_item
    items = []
    for facts in payments:
        moment = facts.collected_at if kind == ItemKind.PAYMENT else facts.returned_at
        if moment is not None and lower <= moment < upper:
            items.append(build(facts))
    return items


def describe(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(reference, payer) of matched items, for report rows."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, object_id in keys:
        by_kind[kind].append(object_id)
    result: dict[tuple[str, str], tuple[str, str]] = {}
    payment_ids = by_kind[ItemKind.PAYMENT] + by_kind[ItemKind.RETURN]
    if payment_ids:
        rows = Payment.objects.filter(pk__any=payment_ids).values_list(
            "pk", "reference", "constituent__name"
        )
        for pk, reference, name in rows:
            for kind in (ItemKind.PAYMENT, ItemKind.RETURN):
                result[(kind, pk)] = (reference, name or "")
    if by_kind[ItemKind.REFUND]:
        rows = paid_refunds().filter(pk__any=by_kind[ItemKind.REFUND])
        for refund in rows:
            result[(ItemKind.REFUND, refund.pk)] = (refund.payment.reference, "")
    if by_kind[ItemKind.PAYOUT]:
        rows = (
            stripe_payouts()
            .filter(pk__any=by_kind[ItemKind.PAYOUT])
            .values_list("pk", "statement_id")
        )
        for pk, statement_id in rows:
            result[(ItemKind.PAYOUT, pk)] = (statement_id, "Stripe")
    return result
