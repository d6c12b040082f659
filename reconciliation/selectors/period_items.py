"""The expected items of a period, in chunks, and how report rows describe items.

Payments, returns and refunds come from payments' selectors as plain facts, streamed
chunk by chunk; reconciliation's own Stripe payouts are read here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date

from hub.iterables import batched
from payments import selectors as payment_selectors
from reconciliation.engine.items import (
    ExpectedItem,
    day_bounds,
    payment_item,
    payout_item,
    refund_item,
    return_item,
)
from reconciliation.models import ItemKind
from reconciliation.selectors.matches import (
    matched_already,
    matched_with_a_line_booked,
    unmatched,
)
from reconciliation.selectors.statements import stripe_payouts


def items_dated(
    start: date,
    end: date,
    *,
    chunk_size: int,
    only_unmatched: bool = False,
    without_paid_in_period: bool = False,
) -> Iterator[list[ExpectedItem]]:
    """Every item dated in [start, end]: collections, returns, refunds and payouts
    (``only_unmatched``: those nothing has matched yet), in chunks of ``chunk_size``.
    ``without_paid_in_period``: leaving out the successful payments whose match holds a
    line booked in [start, end] (``paid_in_period_sums`` gives what they add up to).

    Each kind is one query read through a server-side cursor (PostgreSQL) as the chunks
    are consumed: one pass over the rows, and memory stays that of one chunk."""

    def excluding(kind: str):
        return matched_already(kind) if only_unmatched else None

    lower, upper = day_bounds(start, end)
    collected_excluding = excluding(ItemKind.PAYMENT)
    if without_paid_in_period:
        paid = matched_with_a_line_booked(ItemKind.PAYMENT, start, end)
        collected_excluding = paid if collected_excluding is None else collected_excluding | paid
    for payments in payment_selectors.collected_payments_in_chunks(
        finished_from=lower,
        finished_before=upper,
        chunk_size=chunk_size,
        excluding=collected_excluding,
    ):
        yield [payment_item(facts) for facts in payments]
    # A returned debit's finished_at is its return: its collection is in the timeline.
    for kind, build in ((ItemKind.PAYMENT, payment_item), (ItemKind.RETURN, return_item)):
        for payments in payment_selectors.returned_debits_in_chunks(
            collected=kind == ItemKind.PAYMENT,
            moment_from=lower,
            moment_before=upper,
            chunk_size=chunk_size,
            excluding=excluding(kind),
        ):
            yield [build(facts) for facts in payments]
    for refunds in payment_selectors.paid_refunds_in_chunks(
        finished_from=lower,
        finished_before=upper,
        chunk_size=chunk_size,
        excluding=excluding(ItemKind.REFUND),
    ):
        yield [refund_item(refund) for refund in refunds]
    payouts = stripe_payouts().filter(closing_date__range=(start, end))
    if only_unmatched:
        payouts = unmatched(payouts, ItemKind.PAYOUT)
    for rows in batched(payouts.iterator(chunk_size=chunk_size), chunk_size):
        yield [payout_item(payout) for payout in rows]


def paid_in_period_sums(start: date, end: date) -> list[payment_selectors.CollectedSum]:
    """What the successful payments dated in [start, end] whose match holds a line
    booked in [start, end] add up to, by provider, currency and day: the items
    ``items_dated(without_paid_in_period=True)`` leaves out, summed by the database."""
    lower, upper = day_bounds(start, end)
    return payment_selectors.collected_payment_sums(
        finished_from=lower,
        finished_before=upper,
        among=matched_with_a_line_booked(ItemKind.PAYMENT, start, end),
    )


def describe(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(reference, payer) of matched items, for report rows."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, object_id in keys:
        by_kind[kind].append(object_id)
    result: dict[tuple[str, str], tuple[str, str]] = {}
    payment_ids = by_kind[ItemKind.PAYMENT] + by_kind[ItemKind.RETURN]
    if payment_ids:
        for pk, label in payment_selectors.payment_labels(payment_ids).items():
            for kind in (ItemKind.PAYMENT, ItemKind.RETURN):
                result[(kind, pk)] = label
    if by_kind[ItemKind.REFUND]:
        for refund in payment_selectors.paid_refunds(ids=by_kind[ItemKind.REFUND]):
            result[(ItemKind.REFUND, refund.pk)] = (refund.reference, "")
    if by_kind[ItemKind.PAYOUT]:
        rows = (
            stripe_payouts()
            .filter(pk__any=by_kind[ItemKind.PAYOUT])
            .values_list("pk", "statement_id")
        )
        for pk, statement_id in rows:
            result[(ItemKind.PAYOUT, pk)] = (statement_id, "Stripe")
    return result
