"""Inbound Stripe events (signature-checked by payments/web/stripe_webhook.py), applied once each.

What a Stripe object means for the hub is translated by payments/providers/stripe_mapping.py;
this module finds the hub's row it is about and applies it through the services.

The receipt row and the change commit together: a redelivered event finds the receipt
and changes nothing; an event whose handling fails leaves no receipt, so Stripe's retry
applies it later. Ordering is not trusted: the state machine ignores (and records) any
event that would move a payment backwards.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from hub.events.outbox import publish
from hub.stripe import PAYMENT_METADATA_KEY, REFUND_METADATA_KEY
from payments import selectors
from payments.events import PAYOUT_PAID
from payments.models import (
    Payment,
    PaymentMethod,
    PaymentState,
    ProviderAccount,
    Refund,
    StripeEventReceipt,
)
from payments.providers import stripe_mapping
from payments.providers.base import ProviderStatus
from payments.services import disputes, outcomes, refunds
from tenants.models import Tenant
from tenants.scope import acting_for

SOURCE = "stripe_webhook"


def handle_event(*, account: ProviderAccount, event: dict) -> str:
    """Apply one event verified with ``account``'s endpoint secret; returns what happened
    (for the response and logs). Handlers get the account: a payout belongs to it, and
    its agency is the payments'."""
    tenant = account.tenant
    with acting_for(tenant), transaction.atomic():
        try:
            with transaction.atomic():
                StripeEventReceipt.objects.create(
                    tenant=tenant, stripe_event_id=event["id"], type=event.get("type", "")[:100]
                )
        except IntegrityError:
            return "duplicate"
        handler = HANDLERS.get(event.get("type", ""))
        if handler is None:
            return "ignored_type"
        return handler(account, event)


def _detail(event: dict) -> dict:
    return {"stripe_event": event["id"], "stripe_event_type": event.get("type", "")}


def _object(event: dict) -> dict:
    return (event.get("data") or {}).get("object") or {}


def _find_payment(tenant: Tenant, obj: dict, *references: str) -> Payment | None:
    hub_id = (obj.get("metadata") or {}).get(PAYMENT_METADATA_KEY) or obj.get("client_reference_id")
    if hub_id:
        found = Payment.objects.filter(tenant=tenant, pk=hub_id).first()
        if found is not None:
            return found
    for reference in references:
        found = selectors.payment_by_provider_reference(tenant, reference)
        if found is not None:
            return found
    return None


def _apply(payment: Payment | None, status: ProviderStatus, event: dict) -> str:
    if payment is None:
        return "unknown_payment"
    applied = outcomes.apply_provider_status(
        payment=payment, status=status, source=SOURCE, detail=_detail(event)
    )
    return "applied" if applied else "recorded"


def _checkout_session(account: ProviderAccount, event: dict) -> str:
    tenant = account.tenant
    session = _object(event)
    payment = _find_payment(tenant, session, session.get("id", ""))
    kind = event["type"]
    reference = session.get("payment_intent") or ""
    if isinstance(reference, dict):
        reference = reference.get("id", "")
    if kind == "checkout.session.async_payment_succeeded":
        status = ProviderStatus(PaymentState.SUCCESS, reference)
    elif kind == "checkout.session.async_payment_failed":
        status = ProviderStatus(
            PaymentState.FAILED,
            reference,
            failure_code="async_payment_failed",
            failure_message="The delayed payment method failed",
        )
    else:  # completed, expired: the session object says how it ended
        status = stripe_mapping.status_from_checkout_session(session)
    return _apply(payment, status, event)


def _payment_intent(account: ProviderAccount, event: dict) -> str:
    tenant = account.tenant
    intent = _object(event)
    payment = _find_payment(tenant, intent, intent.get("id", ""))
    if payment is None:
        return "unknown_payment"
    payer_can_retry = payment.method == PaymentMethod.CARD and bool(payment.provider_session_id)
    status = stripe_mapping.status_from_payment_intent(intent, payer_can_retry=payer_can_retry)
    return _apply(payment, status, event)


def _charge_failed(account: ProviderAccount, event: dict) -> str:
    """A direct debit that failed after it looked collected (a late return)."""
    tenant = account.tenant
    charge = _object(event)
    intent_id = charge.get("payment_intent") or ""
    payment = _find_payment(tenant, charge, intent_id if isinstance(intent_id, str) else "")
    if payment is None:
        return "unknown_payment"
    if payment.method != PaymentMethod.DIRECT_DEBIT:
        return "ignored_card_charge"  # card declines arrive as payment_intent events too
    return _apply(payment, stripe_mapping.status_from_charge_failure(charge), event)


def _refund(account: ProviderAccount, event: dict) -> str:
    tenant = account.tenant
    obj = _object(event)
    hub_id = (obj.get("metadata") or {}).get(REFUND_METADATA_KEY)
    refund = None
    if hub_id:
        refund = Refund.objects.filter(tenant=tenant, pk=hub_id).first()
    if refund is None:
        refund = selectors.refund_by_provider_reference(tenant, obj.get("id", ""))
    if refund is None:
        return "unknown_refund"  # made in Stripe's dashboard: reconciliation sees it
    before = refund.state
    settled = refunds.settle_refund(refund=refund, status=stripe_mapping.refund_status(obj))
    return "applied" if settled.state != before else "recorded"


def _dispute(account: ProviderAccount, event: dict) -> str:
    """A chargeback or inquiry: recorded beside the payment, never moving its state."""
    tenant = account.tenant
    obj = _object(event)
    report = stripe_mapping.dispute_report(obj, event_type=event["type"])
    if not report.provider_reference or report.amount <= 0 or len(report.currency) != 3:
        return "malformed_dispute"
    intent_id = stripe_mapping.object_id(obj.get("payment_intent"))
    payment = _find_payment(tenant, {}, intent_id, stripe_mapping.object_id(obj.get("charge")))
    if payment is None:
        return "unknown_payment"
    recorded = disputes.record_dispute(
        payment=payment, report=report, source=SOURCE, detail=_detail(event)
    )
    return "applied" if recorded.applied else "recorded"


def _payout_paid(account: ProviderAccount, event: dict) -> str:
    """Hand the payout to reconciliation (a higher app) through the outbox, with the
    Stripe account it was paid from: the one whose endpoint secret signed the event."""
    payout = _object(event)
    publish(
        tenant=account.tenant,
        type=PAYOUT_PAID,
        subject_id=payout.get("id", ""),
        payload={
            "payout_id": payout.get("id", ""),
            "amount": payout.get("amount"),
            "currency": (payout.get("currency") or "").upper(),
            "arrival_date": payout.get("arrival_date"),
            "provider_account": account.pk,
        },
    )
    return "published"


HANDLERS: dict[str, Callable[[ProviderAccount, dict], str]] = {
    "payout.paid": _payout_paid,
    "checkout.session.completed": _checkout_session,
    "checkout.session.async_payment_succeeded": _checkout_session,
    "checkout.session.async_payment_failed": _checkout_session,
    "checkout.session.expired": _checkout_session,
    "payment_intent.processing": _payment_intent,
    "payment_intent.succeeded": _payment_intent,
    "payment_intent.payment_failed": _payment_intent,
    "payment_intent.canceled": _payment_intent,
    "charge.failed": _charge_failed,
    "refund.created": _refund,
    "refund.updated": _refund,
    "refund.failed": _refund,
    "charge.refund.updated": _refund,
    "charge.dispute.created": _dispute,
    "charge.dispute.updated": _dispute,
    "charge.dispute.closed": _dispute,
    "charge.dispute.funds_withdrawn": _dispute,
    "charge.dispute.funds_reinstated": _dispute,
}
