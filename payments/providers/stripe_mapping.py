"""Stripe objects (plain dicts, as in webhooks or ``.to_dict()`` of SDK answers) to what
the hub applies. Pure functions: the webhook and the stuck-payment check share them.

Checkout in payment mode: a declined card does not end the session (the payer may try
another card), so for card payments ``requires_payment_method`` is a timeline note,
not a failure; the session's expiry ends it. Off-session direct debits have no second
try: there the same status is a failure.
"""

from __future__ import annotations

from datetime import UTC, datetime

from payments.models import PaymentState, Refund
from payments.providers.base import DisputeReport, FundsMovement, ProviderStatus, RefundStatus

S = PaymentState


def object_id(value) -> str:
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def fee_of(payment_intent: dict) -> tuple[int | None, str]:
    """The fee from ``latest_charge.balance_transaction`` when expanded, else unknown."""
    charge = payment_intent.get("latest_charge")
    if not isinstance(charge, dict):
        return None, ""
    balance_transaction = charge.get("balance_transaction")
    if not isinstance(balance_transaction, dict) or balance_transaction.get("fee") is None:
        return None, ""
    return int(balance_transaction["fee"]), (balance_transaction.get("currency") or "").upper()


def _failure(payment_intent: dict) -> tuple[str, str]:
    error = payment_intent.get("last_payment_error") or {}
    code = error.get("decline_code") or error.get("code") or "payment_failed"
    return code, error.get("message") or "The payment failed"


def status_from_payment_intent(payment_intent: dict, *, payer_can_retry: bool) -> ProviderStatus:
    reference = payment_intent.get("id") or ""
    status = payment_intent.get("status")
    if status == "succeeded":
        fee, fee_currency = fee_of(payment_intent)
        return ProviderStatus(S.SUCCESS, reference, fee=fee, fee_currency=fee_currency)
    if status == "processing":
        return ProviderStatus(S.SUBMITTED, reference)
    if status == "canceled":
        reason = payment_intent.get("cancellation_reason") or "canceled"
        return ProviderStatus(
            S.CANCELLED, reference, failure_code=reason, failure_message="Cancelled at Stripe"
        )
    if status == "requires_payment_method" and payment_intent.get("last_payment_error"):
        code, message = _failure(payment_intent)
        if payer_can_retry:
            return ProviderStatus(
                None,
                reference,
                failure_code=code,
                failure_message=message,
                note="attempt_declined_payer_may_retry",
            )
        return ProviderStatus(S.FAILED, reference, failure_code=code, failure_message=message)
    return ProviderStatus(None, reference)


def status_from_checkout_session(session: dict) -> ProviderStatus:
    payment_intent = session.get("payment_intent")
    reference = object_id(payment_intent)
    status = session.get("status")
    if status == "expired":
        return ProviderStatus(S.EXPIRED, reference)
    if status == "complete":
        if session.get("payment_status") in ("paid", "no_payment_required"):
            fee, fee_currency = (
                fee_of(payment_intent) if isinstance(payment_intent, dict) else (None, "")
            )
            return ProviderStatus(S.SUCCESS, reference, fee=fee, fee_currency=fee_currency)
        if isinstance(payment_intent, dict):
            # Completed with a delayed method: the PaymentIntent knows how it went.
            return status_from_payment_intent(payment_intent, payer_can_retry=False)
        return ProviderStatus(S.SUBMITTED, reference)
    return ProviderStatus(None, reference)  # open: the payer is still on Stripe's page


def status_from_charge_failure(charge: dict) -> ProviderStatus:
    return ProviderStatus(
        S.FAILED,
        object_id(charge.get("payment_intent")),
        failure_code=charge.get("failure_code") or "charge_failed",
        failure_message=charge.get("failure_message") or "The charge failed",
    )


def refund_status(refund: dict) -> RefundStatus:
    reference = refund.get("id") or ""
    status = refund.get("status")
    if status == "succeeded":
        return RefundStatus(Refund.State.SUCCESS, reference)
    if status in ("failed", "canceled"):
        return RefundStatus(
            Refund.State.ERROR,
            reference,
            failure_code=refund.get("failure_reason") or status,
            failure_message=f"Stripe reports the refund {status}",
        )
    return RefundStatus(Refund.State.SUBMITTED, reference)  # pending, requires_action


def dispute_report(dispute: dict, *, event_type: str) -> DisputeReport:
    """A Stripe Dispute object. Its ``balance_transactions`` (zero, one or two) say what
    Stripe withdrew (negative amount, fee = the dispute fee) and reinstated (positive
    amount, negative fee if Stripe gave the fee back). A ``funds_*`` event whose object
    lacks them still tells that the disputed amount moved; its fee is then unknown."""
    currency = (dispute.get("currency") or "").upper()
    amount = int(dispute.get("amount") or 0)
    withdrawn = reinstated = None
    for transaction in dispute.get("balance_transactions") or []:
        if not isinstance(transaction, dict) or not transaction.get("amount"):
            continue
        same_currency = (transaction.get("currency") or "").upper() == currency
        fee = int(transaction.get("fee") or 0)
        if transaction["amount"] < 0:
            withdrawn = FundsMovement(amount, fee if same_currency else None)
        else:
            reinstated = FundsMovement(amount, max(-fee, 0) if same_currency else None)
    if withdrawn is None and event_type == "charge.dispute.funds_withdrawn":
        withdrawn = FundsMovement(amount)
    if reinstated is None and event_type == "charge.dispute.funds_reinstated":
        reinstated = FundsMovement(amount)
    due_by = (dispute.get("evidence_details") or {}).get("due_by")
    return DisputeReport(
        provider_reference=dispute.get("id") or "",
        amount=amount,
        currency=currency,
        status=dispute.get("status") or "",
        reason=dispute.get("reason") or "",
        evidence_due_by=datetime.fromtimestamp(due_by, tz=UTC) if due_by else None,
        withdrawn=withdrawn,
        reinstated=reinstated,
    )
