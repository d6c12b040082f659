"""The domain events payments publish (agencies receive them as webhooks) and their payloads.

One event type per state a payment can enter, so an agency subscribes to exactly the
outcomes it acts on ("payment.succeeded") or to all of them ("payment.*").
"""

from __future__ import annotations

from hub.events.catalogue import register_event_type
from payments.models import Dispute, Payment, PaymentState, Refund

PAYMENT_CREATED = register_event_type(
    "payment.created", "A payment was created", read_scope="payments:read"
)
PAYMENT_STARTED = register_event_type(
    "payment.started",
    "The payer opened the payment page of a card payment",
    read_scope="payments:read",
)
PAYMENT_SUBMITTED = register_event_type(
    "payment.submitted",
    "The payment is with the provider or the bank and its outcome is not known yet",
    read_scope="payments:read",
)
PAYMENT_SUCCEEDED = register_event_type(
    "payment.succeeded",
    "The money was collected (direct debits: provisionally, until provisional_until)",
    read_scope="payments:read",
)
PAYMENT_FAILED = register_event_type(
    "payment.failed",
    'The payment failed; "return": true means a collected direct debit came back',
    read_scope="payments:read",
)
PAYMENT_CANCELLED = register_event_type(
    "payment.cancelled", "The agency cancelled the payment", read_scope="payments:read"
)
PAYMENT_EXPIRED = register_event_type(
    "payment.expired", "The payer did not finish paying in time", read_scope="payments:read"
)
PAYMENT_ERRORED = register_event_type(
    "payment.errored",
    "The provider could not process the payment (no money was taken)",
    read_scope="payments:read",
)
REFUND_SUCCEEDED = register_event_type(
    "refund.succeeded", "A refund was paid back", read_scope="payments:read"
)
REFUND_FAILED = register_event_type(
    "refund.failed", "A refund could not be made", read_scope="payments:read"
)
PAYMENT_DISPUTE_OPENED = register_event_type(
    "payment.dispute_opened",
    "The payer disputed a card payment with their bank (a chargeback or an inquiry)",
    read_scope="payments:read",
)
PAYMENT_DISPUTE_UPDATED = register_event_type(
    "payment.dispute_updated",
    "A dispute's status changed (for example: evidence under review)",
    read_scope="payments:read",
)
PAYMENT_DISPUTE_CLOSED = register_event_type(
    "payment.dispute_closed",
    'A dispute ended; "outcome": won, lost or warning_closed (an inquiry that went no further)',
    read_scope="payments:read",
)

EVENT_FOR_STATE = {
    PaymentState.CREATED: PAYMENT_CREATED,
    PaymentState.STARTED: PAYMENT_STARTED,
    PaymentState.SUBMITTED: PAYMENT_SUBMITTED,
    PaymentState.SUCCESS: PAYMENT_SUCCEEDED,
    PaymentState.FAILED: PAYMENT_FAILED,
    PaymentState.CANCELLED: PAYMENT_CANCELLED,
    PaymentState.EXPIRED: PAYMENT_EXPIRED,
    PaymentState.ERROR: PAYMENT_ERRORED,
}


def payment_payload(payment: Payment) -> dict:
    """What every payment event carries: enough to act without calling back."""
    return {
        "id": payment.pk,
        "amount": payment.amount,
        "currency": payment.currency,
        "state": payment.state,
        "finished": payment.finished,
        "method": payment.method,
        "reference": payment.reference,
        "description": payment.description,
        "service": payment.service_id,
        "constituent": payment.constituent_id,
        "provider": payment.provider,
        "provider_reference": payment.provider_reference,
        "failure_code": payment.failure_code,
        "failure_message": payment.failure_message,
        "amount_refunded": payment.amount_refunded,
        "fee": payment.fee,
        "provisional_until": (
            payment.provisional_until.isoformat() if payment.provisional_until else None
        ),
        "metadata": payment.metadata,
    }


def refund_payload(refund: Refund) -> dict:
    payment = refund.payment
    return {
        "id": refund.pk,
        "payment": payment.pk,
        "amount": refund.amount,
        "currency": payment.currency,
        "state": refund.state,
        "reason": refund.reason,
        "provider": payment.provider,
        "provider_reference": refund.provider_reference,
        "failure_code": refund.failure_code,
        "payment_reference": payment.reference,
        "service": payment.service_id,
    }


def dispute_payload(dispute: Dispute) -> dict:
    payment = dispute.payment
    return {
        "id": dispute.pk,
        "payment": payment.pk,
        "amount": dispute.amount,
        "currency": dispute.currency,
        "reason": dispute.reason,
        "status": dispute.status,
        "outcome": dispute.outcome,
        "evidence_due_by": (
            dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else None
        ),
        "funds_withdrawn": dispute.funds_withdrawn,
        "fee": dispute.fee,
        "funds_reinstated": dispute.funds_reinstated,
        "fee_reinstated": dispute.fee_reinstated,
        "provider": payment.provider,
        "provider_reference": dispute.provider_reference,
        "payment_reference": payment.reference,
        "service": payment.service_id,
        "constituent": payment.constituent_id,
        "metadata": payment.metadata,
    }


PAYOUT_PAID = register_event_type(
    "payout.paid",
    "Stripe paid a payout to the agency's bank; reconciliation imports its transactions",
    read_scope="payments:read",
)
