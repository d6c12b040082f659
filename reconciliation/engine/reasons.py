"""Why a statement line is unmatched, in words a finance user can act on, and whether
that is an exception (the hub should explain this money) or not (the agency's own
outgoing payments, bank charges, entries not booked yet). Pure rules: the line and what
its tokens were found to point at go in, a reason comes out."""

from __future__ import annotations

from datetime import date, timedelta

from reconciliation.engine import references
from reconciliation.engine.items import STRIPE_CREDIT_KINDS, STRIPE_RETURN_KINDS, Found
from reconciliation.models import Channel, ReconciliationException, StatementLine

Kind = ReconciliationException.Kind
STRIPE_DEBIT_KINDS = frozenset({"refund", *STRIPE_RETURN_KINDS})


def for_line(
    line: StatementLine,
    *,
    found: Found,
    ambiguity: str | None,
    window_days: int,
    period_end: date,
) -> tuple[str | None, str]:
    """(exception kind or None, reason) for a line nothing matched."""
    if not line.is_booked:
        return None, f"Not booked yet (status {line.status})"
    if line.channel == Channel.STRIPE:
        return _stripe(line)
    if line.return_reason_code:
        return Kind.UNKNOWN_RETURN, f"Return ({line.return_reason_code}) of no known payment"
    if line.is_reversal:
        return None, "Reversal of a booking that is not in the imported statements"
    if line.amount < 0:
        if _is_charge(line):
            return None, "Bank charge"
        return None, "Outgoing payment not made through the hub"
    if ambiguity:
        return Kind.UNKNOWN_RECEIPT, ambiguity
    return _credit(line, found, window_days, period_end)


def _credit(
    line: StatementLine, found: Found, window_days: int, period_end: date
) -> tuple[str | None, str]:
    tokens = references.tokens_of(line.references)
    for token in tokens:
        for payment in found.uncollected.get(token, ()):
            if payment.channel != line.channel:
                continue
            if payment.awaited:
                if line.booking_date + timedelta(days=window_days) >= period_end:
                    return None, (
                        f"Payment {payment.payment_id} is {payment.state}: it matches once "
                        "collected"
                    )
                return Kind.UNEXPECTED_RECEIPT, (
                    f"Money received for {payment.payment_id}, which is still {payment.state} "
                    f"after {window_days} days"
                )
            return Kind.UNEXPECTED_RECEIPT, (
                f"Money received for {payment.payment_id}, which the hub records as {payment.state}"
            )
    for token in tokens:
        for item in found.credits.get(token, ()):
            if item.channel != line.channel:
                return Kind.UNKNOWN_RECEIPT, (
                    f"Reference {token} is {item.object_id}, which is paid out through "
                    f"{item.channel}, not to this account"
                )
            if item.currency != line.currency:
                return Kind.UNKNOWN_RECEIPT, (
                    f"Reference {token} is {item.object_id}, a payment in {item.currency}"
                )
    if tokens:
        shown = ", ".join(tokens[:3])
        return Kind.UNKNOWN_RECEIPT, f"No hub payment with reference {shown}"
    return Kind.UNKNOWN_RECEIPT, (
        f"No reference, and no unmatched payment of this amount within ±{window_days} days"
    )


def _stripe(line: StatementLine) -> tuple[str | None, str]:
    source = next(iter(references.tokens_of(line.references, references.PROVIDER)), "")
    if line.kind in STRIPE_CREDIT_KINDS:
        return Kind.UNKNOWN_RECEIPT, f"Stripe {line.kind} {source} matches no hub payment"
    if line.kind in STRIPE_DEBIT_KINDS:
        return Kind.UNKNOWN_RETURN, f"Stripe {line.kind} {source} matches no hub refund or return"
    label = (line.kind or "transaction").replace("_", " ")
    return None, f"Stripe {label}" + (f": {line.additional_info}" if line.additional_info else "")


def _is_charge(line: StatementLine) -> bool:
    code = line.bank_transaction_code.upper()
    return "CHRG" in code or code.startswith(("NCHG", "FCHG"))
