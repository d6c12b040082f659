"""Refunds: full or partial, never more than was collected.

A refund is reserved first (payment row locked, amount checked against what is still
refundable, ``amount_refunded`` raised) and committed; only then is the provider
asked, so the lock is not held over a network call and concurrent requests can never
reserve more than the payment's amount together. An unknown outcome (a timeout) keeps
the refund submitted and reserved: the stuck-payment check asks the provider again with the same
idempotency key.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from hub.errors import Conflict, InvalidRequest, RuleViolation
from hub.events.outbox import publish
from payments.events import REFUND_FAILED, REFUND_SUCCEEDED, refund_payload
from payments.models import Payment, PaymentMethod, PaymentState, Refund
from payments.providers.base import ProviderError, RefundStatus
from payments.providers.registry import registry
from payments.services import postings
from payments.services.locking import lock_payment, lock_refund
from tenants.scope import acting_for

logger = logging.getLogger(__name__)


def create_refund(*, payment: Payment, amount: int, reason: str = "") -> Refund:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise InvalidRequest(
            "amount is a positive integer in minor units", code="invalid_amount", field="amount"
        )
    with acting_for(payment.tenant):
        refund = _reserve(payment=payment, amount=amount, reason=reason)
        status = _ask_provider(refund)
        if status is None:
            return refund
        return settle_refund(refund=refund, status=status)


def _reserve(*, payment: Payment, amount: int, reason: str) -> Refund:
    with transaction.atomic():
        payment = lock_payment(payment)
        plugin = registry.get(payment.provider)
        if payment.method != PaymentMethod.CARD or plugin is None or not plugin.supports_refunds:
            raise RuleViolation(
                "Only card payments can be refunded through the hub", code="refund_not_supported"
            )
        if payment.state != PaymentState.SUCCESS:
            raise Conflict(
                f"Only successful payments can be refunded; this one is {payment.state}",
                code="payment_not_refundable",
            )
        available = payment.amount - payment.amount_refunded
        if amount > available:
            raise RuleViolation(
                f"Refund of {amount} exceeds the {available} still refundable",
                code="refund_exceeds_available",
                field="amount",
            )
        refund = Refund.objects.create(
            tenant_id=payment.tenant_id, payment=payment, amount=amount, reason=reason[:255]
        )
        payment.amount_refunded += amount
        payment.updated_at = timezone.now()
        payment.save(update_fields=["amount_refunded", "updated_at"])
    return refund


def _ask_provider(refund: Refund) -> RefundStatus | None:
    payment = refund.payment
    plugin = registry[payment.provider]
    try:
        return plugin.refund(refund=refund, account=payment.provider_account)
    except ProviderError as exc:
        if exc.definitive:
            return RefundStatus(
                Refund.State.ERROR, failure_code=exc.code, failure_message=str(exc)[:500]
            )
        logger.warning(
            "refund %s: outcome unknown (%s); the stuck-payment check will ask again",
            refund.pk,
            exc,
        )
        return None


def resync_refund(*, refund: Refund) -> Refund:
    """Ask the provider again about a refund still submitted (stuck-payment check, operator)."""
    payment = refund.payment
    plugin = registry[payment.provider]
    with acting_for(payment.tenant):
        try:
            status = plugin.fetch_refund_status(refund=refund, account=payment.provider_account)
        except ProviderError as exc:
            if not exc.definitive:
                raise
            status = RefundStatus(
                Refund.State.ERROR, failure_code=exc.code, failure_message=str(exc)[:500]
            )
        return settle_refund(refund=refund, status=status)


def settle_refund(*, refund: Refund, status: RefundStatus) -> Refund:
    """Apply the provider's answer. A refund finishes once; later answers are ignored."""
    with acting_for(refund.payment.tenant), transaction.atomic():
        # Payment before refund: the same lock order as _reserve, so no deadlock.
        payment = lock_payment(refund.payment_id)
        refund = lock_refund(refund)
        refund.payment = payment
        if status.provider_reference and not refund.provider_reference:
            refund.provider_reference = status.provider_reference[:255]
            refund.save(update_fields=["provider_reference"])
        if refund.state != Refund.State.SUBMITTED or status.state == Refund.State.SUBMITTED:
            return refund
        now = timezone.now()
        refund.state = status.state
        refund.finished_at = refund.updated_at = now
        if status.state == Refund.State.SUCCESS:
            refund.save(update_fields=["state", "finished_at", "updated_at"])
            postings.refund_paid(refund)
            event_type = REFUND_SUCCEEDED
        else:
            refund.failure_code = status.failure_code[:50]
            refund.failure_message = status.failure_message[:500]
            refund.save(
                update_fields=[
                    "state",
                    "finished_at",
                    "updated_at",
                    "failure_code",
                    "failure_message",
                ]
            )
            # Nothing was paid back: the amount becomes refundable again.
            payment.amount_refunded -= refund.amount
            payment.updated_at = now
            payment.save(update_fields=["amount_refunded", "updated_at"])
            event_type = REFUND_FAILED
        publish(
            tenant=payment.tenant,
            type=event_type,
            subject_id=refund.pk,
            payload=refund_payload(refund),
        )
    return refund
