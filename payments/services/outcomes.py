"""Applying what a provider says about a payment: the sandbox page, Stripe webhooks,
the stuck-payment check and an operator's re-sync all come through here, so one set of rules
(the state machine, the ledger postings) holds whoever reports the outcome."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from payments.models import Payment, PaymentMethod, PaymentState
from payments.providers.base import ProviderStatus
from payments.services import direct_debit, fees, postings, transitions
from payments.services.locking import lock_payment
from tenants.scope import acting_for

S = PaymentState


def apply_provider_status(
    *, payment: Payment, status: ProviderStatus, source: str, detail: dict | None = None
) -> bool:
    """Lock the payment and apply ``status``; True if its state changed."""
    with acting_for(payment.tenant), transaction.atomic():
        locked = lock_payment(payment)
        return apply_locked(locked, status, source=source, detail=detail)


def apply_locked(
    payment: Payment, status: ProviderStatus, *, source: str, detail: dict | None = None
) -> bool:
    detail = dict(detail or {})
    _remember_provider_reference(payment, status)
    if status.state is None:
        if status.note:
            transitions.record_note(
                payment,
                to_state=payment.state,
                source=source,
                detail={
                    **detail,
                    "note": status.note,
                    "failure_code": status.failure_code,
                    "failure_message": status.failure_message,
                },
            )
        applied = False
    elif payment.method == PaymentMethod.DIRECT_DEBIT:
        applied = _apply_direct_debit(payment, status, source=source, detail=detail)
    else:
        applied = _apply_card(payment, status, source=source, detail=detail)
    if status.fee is not None:
        _record_fee(payment, status, source=source)
    return applied


def _apply_card(payment: Payment, status: ProviderStatus, *, source: str, detail: dict) -> bool:
    applied = transitions.transition(
        payment,
        status.state,
        source=source,
        detail=detail,
        failure_code=status.failure_code,
        failure_message=status.failure_message,
    )
    if applied and status.state == S.SUCCESS:
        postings.payment_collected(payment)
    return applied


def _apply_direct_debit(
    payment: Payment, status: ProviderStatus, *, source: str, detail: dict
) -> bool:
    today = timezone.localdate()
    if status.state == S.SUCCESS:
        return direct_debit.confirm_locked(
            payment,
            provisional_until=direct_debit.provisional_until_for(payment, today),
            fee=None,  # the stuck-payment check fetches it once the provider has settled it
            source=source,
            detail=detail,
        )
    if status.state == S.FAILED and payment.state == S.SUCCESS:
        return direct_debit.return_locked(
            payment,
            reason_code=status.failure_code or "returned",
            message=status.failure_message or "The bank returned the direct debit",
            returned_on=today,
            source=source,
            detail=detail,
        )
    return transitions.transition(
        payment,
        status.state,
        source=source,
        detail=detail,
        failure_code=status.failure_code,
        failure_message=status.failure_message,
    )


def _remember_provider_reference(payment: Payment, status: ProviderStatus) -> None:
    if status.provider_reference and not payment.provider_reference:
        payment.provider_reference = status.provider_reference[:255]
        payment.save(update_fields=["provider_reference"])


def _record_fee(payment: Payment, status: ProviderStatus, *, source: str) -> None:
    if status.fee_currency and status.fee_currency.upper() != payment.currency:
        # Settled in another currency: the payout reconciliation books it, not us.
        if fees.record_fee_locked(payment, 0):
            transitions.record_note(
                payment,
                to_state=payment.state,
                source=source,
                detail={
                    "note": "fee_in_settlement_currency",
                    "fee": status.fee,
                    "fee_currency": status.fee_currency.upper(),
                },
            )
        return
    fees.record_fee_locked(payment, status.fee)
