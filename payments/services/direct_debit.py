"""Direct-debit payments: the collection app drives them, payments keeps the books.

created → submitted (sent to the bank or Stripe) → success (collected, provisional
until the scheme's return window closes) → and possibly failed again when the bank
returns the debit: the one backwards move the state machine allows. A return reported
twice (by Stripe and by a bank statement) is applied once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.db import transaction

from hub.errors import Conflict, InvalidRequest, RuleViolation
from payments.models import Payment, PaymentMethod, PaymentState
from payments.rules import states
from payments.services import fees, postings, transitions
from payments.services.locking import lock_payment
from tenants.scope import acting_for

S = PaymentState
SOURCE = "direct_debit"

ReturnWindowPolicy = Callable[[Payment, date], date]
# Without the collection app's scheme calendars: SEPA Core allows returns up to D+5
# business days, Bacs two days after; eight calendar days covers both over a weekend
# and a holiday.
DEFAULT_RETURN_WINDOW = timedelta(days=8)


def _default_return_window(payment: Payment, collected_on: date) -> date:
    return collected_on + DEFAULT_RETURN_WINDOW


_return_window: ReturnWindowPolicy = _default_return_window


def set_return_window_policy(policy: ReturnWindowPolicy | None) -> ReturnWindowPolicy:
    """Let the collection app (which knows each scheme's business-day calendar) decide
    how long a direct debit collected through a provider webhook stays provisional.
    None restores the default; the previous policy is returned."""
    global _return_window
    previous = _return_window
    _return_window = policy or _default_return_window
    return previous


def provisional_until_for(payment: Payment, collected_on: date) -> date:
    return _return_window(payment, collected_on)


def submit_direct_debit(*, payment: Payment, provider_reference: str = "") -> Payment:
    _require_direct_debit(payment)
    with acting_for(payment.tenant), transaction.atomic():
        payment = lock_payment(payment)
        if provider_reference and payment.provider_reference != provider_reference:
            payment.provider_reference = provider_reference[:255]
            payment.save(update_fields=["provider_reference"])
        if payment.state == S.SUBMITTED:
            return payment
        if payment.state != S.CREATED:
            raise _invalid_state(payment, "submitted")
        transitions.transition(payment, S.SUBMITTED, source=SOURCE)
    return payment


def confirm_direct_debit(*, payment: Payment, provisional_until: date, fee: int = 0) -> Payment:
    _require_direct_debit(payment)
    if not isinstance(provisional_until, date):
        raise InvalidRequest("provisional_until must be a date", field="provisional_until")
    if isinstance(fee, bool) or not isinstance(fee, int) or fee < 0:
        raise InvalidRequest("fee is a non-negative integer in minor units", field="fee")
    with acting_for(payment.tenant), transaction.atomic():
        payment = lock_payment(payment)
        if payment.state == S.SUCCESS:
            return payment
        if payment.state != S.SUBMITTED:
            raise _invalid_state(payment, "confirmed")
        confirm_locked(payment, provisional_until=provisional_until, fee=fee, source=SOURCE)
    return payment


def record_direct_debit_return(
    *, payment: Payment, reason_code: str, returned_on: date, source: str
) -> bool:
    """The bank took a direct debit back. False: already handled (nothing changes)."""
    _require_direct_debit(payment)
    if not reason_code:
        raise InvalidRequest("a return needs the scheme's reason code", field="reason_code")
    with acting_for(payment.tenant), transaction.atomic():
        payment = lock_payment(payment)
        return return_locked(
            payment,
            reason_code=reason_code,
            message=f"Direct debit returned ({reason_code})",
            returned_on=returned_on,
            source=source,
        )


def fail_direct_debit(*, payment: Payment, code: str, message: str) -> Payment:
    """Rejected before settlement (a pain.002 reject, a failed Stripe debit)."""
    _require_direct_debit(payment)
    with acting_for(payment.tenant), transaction.atomic():
        payment = lock_payment(payment)
        if payment.state == S.FAILED:
            return payment
        if payment.state not in (S.CREATED, S.SUBMITTED):
            raise _invalid_state(payment, "failed (use record_direct_debit_return once collected)")
        transitions.transition(
            payment, S.FAILED, source=SOURCE, failure_code=code, failure_message=message
        )
    return payment


def confirm_locked(
    payment: Payment,
    *,
    provisional_until: date,
    fee: int | None,
    source: str,
    detail: dict | None = None,
) -> bool:
    """Collected: success, posted to the ledger. ``payment`` is locked by the caller."""
    if states.is_allowed(payment.state, S.SUCCESS):
        payment.provisional_until = provisional_until
        payment.save(update_fields=["provisional_until"])
    applied = transitions.transition(payment, S.SUCCESS, source=source, detail=detail)
    if applied:
        postings.payment_collected(payment)
        if fee is not None:
            fees.record_fee_locked(payment, fee)
    return applied


def return_locked(
    payment: Payment,
    *,
    reason_code: str,
    message: str,
    returned_on: date | None,
    source: str,
    detail: dict | None = None,
) -> bool:
    was_collected = payment.state == S.SUCCESS
    applied = transitions.record_return(
        payment,
        reason_code=reason_code,
        message=message,
        returned_on=returned_on.isoformat() if returned_on else "",
        source=source,
        detail=detail,
    )
    if applied and was_collected:
        postings.direct_debit_returned(payment)
    return applied


def _require_direct_debit(payment: Payment) -> None:
    if payment.method != PaymentMethod.DIRECT_DEBIT:
        raise RuleViolation(
            f"{payment.pk} is a {payment.method} payment, not a direct debit",
            code="not_a_direct_debit",
        )


def _invalid_state(payment: Payment, wanted: str) -> Conflict:
    return Conflict(
        f"A direct debit in state {payment.state} cannot be {wanted}", code="invalid_state"
    )
