"""Finding expected items for statement lines: by reference, by batch, by amount and
date, by id. Reads only; callers are inside the tenant's scope.

Payments, refunds and returns come from payments' selectors as plain facts (payments
owns those tables); what is matched already is left out in the same query through
``excluding=matched_already(kind)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Q

from payments import selectors as payment_selectors
from payments.selectors import DisputeFacts, PaymentFacts
from reconciliation.engine.items import (
    STRIPE,
    ExpectedItem,
    Found,
    day_bounds,
    payment_item,
    payout_item,
    refund_item,
    return_item,
    uncollected,
)
from reconciliation.models import ItemKind
from reconciliation.selectors.matches import matched_already, unmatched
from reconciliation.selectors.statements import stripe_payouts


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
    hits = payment_selectors.payments_named_by(tokens)  # pay_… → tokens that name it
    if not hits:
        return
    for pk, named_by in hits.items():
        for token in named_by:
            found.payment_hits[token].add(pk)
    for payment in payment_selectors.payment_facts(list(hits)):
        found.payments[payment.pk] = payment
        for token in hits[payment.pk]:
            if payment.collected:
                found.credits[token].append(payment_item(payment))
            else:
                found.uncollected[token].append(uncollected(payment))
            if payment.returned_at is not None:
                found.debits[token].append(return_item(payment))


def _find_refunds(tokens: set[str], found: Found) -> None:
    hub_ids = [token for token in tokens if token.startswith("ref_")]
    if hub_ids:
        for refund in payment_selectors.paid_refunds(ids=hub_ids):
            found.debits[refund.pk].append(refund_item(refund))
    for refund in payment_selectors.paid_refunds(provider_references=tokens):
        found.debits[refund.provider_reference].append(refund_item(refund))


def _find_payouts(tokens: set[str], found: Found) -> None:
    payout_ids = [token for token in tokens if token.startswith("po_")]
    if payout_ids:
        for payout in stripe_payouts().filter(statement_id__any=payout_ids):
            found.credits[payout.statement_id].append(payout_item(payout))


def payment_by_id(payment_id: str) -> PaymentFacts | None:
    facts = payment_selectors.payment_facts([payment_id])
    return facts[0] if facts else None


def by_batch_reference(reference: str) -> list[ExpectedItem]:
    """Unmatched collected payments of one collection run (its pain.008 PmtInfId)."""
    payments = payment_selectors.collected_payments(
        batch_reference=reference, excluding=matched_already(ItemKind.PAYMENT)
    )
    return [payment_item(payment) for payment in payments]


def bank_credits_near(
    *, currency: str, amounts: Iterable[int], tolerance: int, start: date, end: date
) -> list[ExpectedItem]:
    """Unmatched bank-channel payments and Stripe payouts that could be one of
    ``amounts`` (± tolerance) dated between ``start`` and ``end``."""
    amounts = sorted(set(amounts))
    lower, upper = day_bounds(start, end)
    payments = payment_selectors.collected_payments(
        currency=currency,
        finished_from=lower,
        finished_before=upper,
        not_provider=STRIPE,
        net_amounts=amounts,
        tolerance=tolerance,
        excluding=matched_already(ItemKind.PAYMENT),
    )
    items = [payment_item(payment) for payment in payments]
    payouts = unmatched(
        stripe_payouts().filter(currency=currency, closing_date__range=(start, end)),
        ItemKind.PAYOUT,
    ).filter(_amount_filter("closing_balance", amounts, tolerance))
    return items + [payout_item(payout) for payout in payouts]


def direct_debits_between(*, currency: str, start: date, end: date) -> list[ExpectedItem]:
    """Unmatched bank-channel direct debits collected between ``start`` and ``end``:
    the candidates for a collection booked as one lump sum without its details."""
    lower, upper = day_bounds(start, end)
    payments = payment_selectors.collected_payments(
        direct_debits_only=True,
        currency=currency,
        finished_from=lower,
        finished_before=upper,
        not_provider=STRIPE,
        excluding=matched_already(ItemKind.PAYMENT),
    )
    return [payment_item(payment) for payment in payments]


def item_by_id(object_id: str) -> ExpectedItem | None:
    """The expected item a finance user names by id: pay_… (a collected payment),
    ref_… (a paid refund) or stm_… (a Stripe payout). None if there is no such item."""
    if object_id.startswith("pay_"):
        payment = payment_by_id(object_id)
        return payment_item(payment) if payment is not None and payment.collected else None
    if object_id.startswith("ref_"):
        refunds = payment_selectors.paid_refunds(ids=[object_id])
        return refund_item(refunds[0]) if refunds else None
    if object_id.startswith("stm_"):
        payout = stripe_payouts().filter(pk=object_id).first()
        return payout_item(payout) if payout else None
    return None


def recorded_dispute(provider_ids: list[str]) -> DisputeFacts | None:
    """The dispute payments recorded under one of these Stripe ids (``dp_…``)."""
    return payment_selectors.dispute_by_provider_reference(provider_ids) if provider_ids else None


def _amount_filter(name: str, amounts: list[int], tolerance: int) -> Q:
    if tolerance == 0:
        return Q(**{f"{name}__in": amounts})
    condition = Q()
    for amount in amounts:
        condition |= Q(**{f"{name}__range": (amount - tolerance, amount + tolerance)})
    return condition
