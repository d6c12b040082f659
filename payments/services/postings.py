"""Which ledger lines each money movement posts. One function per movement.

The settlement account is where the money sits after collection: a provider's
balance (provider_clearing) until it pays out, or, for bank-file direct debits, the
agency's bank account itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from payments.models import (
    Dispute,
    LedgerAccount,
    LedgerTransaction,
    Payment,
    PaymentMethod,
    Refund,
)
from payments.services import ledger
from tenants.models import Tenant

# Providers whose collections land straight in the agency's bank account: the one list
# (the collection posts them to ``bank``; a bank receipt of them moves nothing).
BANK_SETTLED_PROVIDERS = frozenset({"bank_file"})


def settlement_account(payment: Payment) -> str:
    if payment.provider in BANK_SETTLED_PROVIDERS:
        return LedgerAccount.BANK
    return LedgerAccount.PROVIDER_CLEARING


def payment_collected(payment: Payment) -> LedgerTransaction:
    return ledger.post(**_collected(payment))


def payment_collected_rows(payment: Payment) -> tuple[dict, list[dict]]:
    """The same posting as ``payment_collected``, as unsaved rows: for a batch's COPY."""
    return ledger.unsaved_rows(**_collected(payment))


def _collected(payment: Payment) -> dict:
    direct_debit = payment.method == PaymentMethod.DIRECT_DEBIT
    return {
        "tenant": payment.tenant,
        "currency": payment.currency,
        "kind": "direct_debit_collected" if direct_debit else "payment_collected",
        "reference": payment.pk,
        "idempotency_key": f"collected:{payment.pk}",
        "lines": [
            (settlement_account(payment), payment.amount, 0),
            (LedgerAccount.REVENUE, 0, payment.amount),
        ],
        "description": payment.description,
    }


def fee_charged(payment: Payment, fee: int) -> LedgerTransaction | None:
    if fee <= 0:
        return None
    return ledger.post(
        tenant=payment.tenant,
        currency=payment.currency,
        kind="fee",
        reference=payment.pk,
        idempotency_key=f"fee:{payment.pk}",
        lines=[(LedgerAccount.FEES, fee, 0), (settlement_account(payment), 0, fee)],
        description=f"{payment.provider} fee",
    )


def refund_paid(refund: Refund) -> LedgerTransaction:
    payment = refund.payment
    return ledger.post(
        tenant=payment.tenant,
        currency=payment.currency,
        kind="refund",
        reference=refund.pk,
        idempotency_key=f"refund:{refund.pk}",
        lines=[
            (LedgerAccount.REFUNDS, refund.amount, 0),
            (settlement_account(payment), 0, refund.amount),
        ],
        description=f"Refund of {payment.pk}",
    )


def direct_debit_returned(payment: Payment) -> LedgerTransaction:
    """The exact reverse of the collection: the bank took the money back."""
    return ledger.post(
        tenant=payment.tenant,
        currency=payment.currency,
        kind="direct_debit_returned",
        reference=payment.pk,
        idempotency_key=f"returned:{payment.pk}",
        lines=[
            (LedgerAccount.REVENUE, payment.amount, 0),
            (settlement_account(payment), 0, payment.amount),
        ],
        description=f"Return of {payment.pk} ({payment.failure_code})",
    )


def dispute_withdrawn(dispute: Dispute, *, amount: int, fee: int) -> None:
    """A chargeback: the provider took the disputed amount and its fee from the balance.
    Posted per cause, so a fee learnt after the amount is still posted once."""
    clearing = settlement_account(dispute.payment)
    _dispute_posting(dispute, "dispute_withdrawn", amount, LedgerAccount.DISPUTES, clearing)
    _dispute_posting(dispute, "dispute_fee", fee, LedgerAccount.FEES, clearing)


def dispute_reinstated(dispute: Dispute, *, amount: int, fee: int) -> None:
    """A won dispute: the exact reverse of what was withdrawn (the fee only if returned)."""
    clearing = settlement_account(dispute.payment)
    _dispute_posting(dispute, "dispute_reinstated", amount, clearing, LedgerAccount.DISPUTES)
    _dispute_posting(dispute, "dispute_fee_reinstated", fee, clearing, LedgerAccount.FEES)


def _dispute_posting(
    dispute: Dispute, kind: str, amount: int, debit_account: str, credit_account: str
) -> LedgerTransaction | None:
    if amount <= 0:
        return None
    return ledger.post(
        tenant=dispute.payment.tenant,
        currency=dispute.currency,
        kind=kind,
        reference=dispute.pk,
        idempotency_key=f"{kind}:{dispute.pk}",
        lines=[(debit_account, amount, 0), (credit_account, 0, amount)],
        description=f"Dispute {dispute.provider_reference} of {dispute.payment_id}",
    )


def bank_movement(
    *,
    tenant: Tenant,
    currency: str,
    statement_line_id: str,
    booked_on: date,
    reported_amount: int,
    items: Sequence[tuple[str, str, int]],
    payout: bool,
) -> LedgerTransaction | None:
    """A bank line reconciled with money a provider held (a Stripe payout, a sandbox
    settlement): what arrived moves from ``provider_clearing`` to ``bank``.

    ``items`` are what the line was matched with, as (hub id, provider, amount the
    statement should show). Bank-file direct debits were booked straight to ``bank``
    when collected: nothing moves for them, and the part of the line they account for
    is left out. Keyed by the statement line, so a line is posted once however often
    it is reconciled."""
    held_by_provider = [
        object_id for object_id, provider, _ in items if provider not in BANK_SETTLED_PROVIDERS
    ]
    if not held_by_provider:
        return None
    # What really arrived, less the part the ledger already has in the bank.
    amount = reported_amount - sum(
        expected for _, provider, expected in items if provider in BANK_SETTLED_PROVIDERS
    )
    if amount == 0:
        return None
    kind = "payout" if payout else ("bank_receipt" if amount > 0 else "bank_payment")
    bank, clearing = LedgerAccount.BANK, LedgerAccount.PROVIDER_CLEARING
    entries = (
        [(bank, amount, 0), (clearing, 0, amount)]
        if amount > 0
        else [(clearing, -amount, 0), (bank, 0, -amount)]
    )
    return ledger.post(
        tenant=tenant,
        currency=currency,
        kind=kind,
        reference=held_by_provider[0],
        idempotency_key=f"reconciliation:{statement_line_id}",
        lines=entries,
        description=f"Statement line {statement_line_id} ({booked_on.isoformat()})",
    )
