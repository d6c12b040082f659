"""Recording a provider's fee once it is known (at success, or by the stuck-payment check)."""

from __future__ import annotations

from django.utils import timezone

from payments.models import Payment, PaymentState
from payments.services import postings


def record_fee_locked(payment: Payment, fee: int) -> bool:
    """Post the fee of a collected payment, once. ``payment`` is locked by the caller."""
    if payment.fee_recorded_at is not None or payment.state != PaymentState.SUCCESS:
        return False
    if isinstance(fee, bool) or not isinstance(fee, int) or fee < 0:
        raise ValueError(f"a fee is a non-negative integer in minor units, not {fee!r}")
    payment.fee = fee
    payment.fee_recorded_at = timezone.now()
    payment.save(update_fields=["fee", "fee_recorded_at"])
    postings.fee_charged(payment, fee)
    return True
