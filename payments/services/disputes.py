"""Disputes (chargebacks and inquiries) of card payments, as the provider reports them.

A dispute never moves the payment's state: the payment stays what it was, and the
dispute is told in its timeline as notes, in the outbox as ``payment.dispute_*``
events and, when money moves, in the ledger. Provider messages arrive in any order
and any number of times: a status older than the stored one changes nothing (a
closed dispute stays closed), and each money movement posts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from hub.events.outbox import publish
from payments.events import (
    PAYMENT_DISPUTE_CLOSED,
    PAYMENT_DISPUTE_OPENED,
    PAYMENT_DISPUTE_UPDATED,
    dispute_payload,
)
from payments.models import Dispute, Payment
from payments.providers.base import DisputeReport, FundsMovement
from payments.services import postings, transitions
from payments.services.locking import lock_payment
from tenants.scope import acting_for

S = Dispute.Status
# How far along a dispute is; a report behind the stored status is stale. Closed is
# final whichever way it closed.
PROGRESS = {
    S.WARNING_NEEDS_RESPONSE: 0,
    S.WARNING_UNDER_REVIEW: 1,
    S.NEEDS_RESPONSE: 2,
    S.UNDER_REVIEW: 3,
    S.WARNING_CLOSED: 4,
    S.WON: 4,
    S.LOST: 4,
}


@dataclass
class DisputeChange:
    dispute: Dispute
    changes: list[str] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return bool(self.changes)


def record_dispute(
    *, payment: Payment, report: DisputeReport, source: str, detail: dict | None = None
) -> DisputeChange:
    """Create or bring up to date the payment's dispute ``report`` describes."""
    with acting_for(payment.tenant), transaction.atomic():
        payment = lock_payment(payment)  # serialises with refunds and other events
        dispute = Dispute.objects.filter(
            tenant=payment.tenant, provider_reference=report.provider_reference
        ).first()
        now = timezone.now()
        if dispute is None:
            result = _open(payment, report, now)
            previous_status = None
        else:
            if dispute.payment_id == payment.pk:
                dispute.payment = payment  # the locked row, not a second fetch
            result = DisputeChange(dispute)
            previous_status = dispute.status
            _update_status(result, report, now)
        _move_funds(result, report)
        dispute = result.dispute
        if result.applied:
            dispute.updated_at = now
            dispute.save()
        _tell(payment, result, previous_status, source=source, detail=detail or {})
    return result


def _open(payment: Payment, report: DisputeReport, now) -> DisputeChange:
    dispute = Dispute.objects.create(
        tenant_id=payment.tenant_id,
        payment=payment,
        provider_reference=report.provider_reference[:255],
        amount=report.amount,
        currency=report.currency,
        reason=report.reason[:50],
        status=report.status,
        evidence_due_by=report.evidence_due_by,
        created_at=now,
        updated_at=now,
        closed_at=now if report.status in Dispute.CLOSED_STATUSES else None,
    )
    changes = ["opened"] + (["closed"] if dispute.closed else [])
    return DisputeChange(dispute, changes)


def _update_status(result: DisputeChange, report: DisputeReport, now) -> None:
    dispute = result.dispute
    if dispute.closed or PROGRESS.get(report.status, 0) < PROGRESS.get(dispute.status, 0):
        return
    if report.evidence_due_by != dispute.evidence_due_by or report.reason != dispute.reason:
        dispute.evidence_due_by = report.evidence_due_by
        dispute.reason = report.reason[:50]
        result.changes.append("details")
    if report.status == dispute.status:
        return
    dispute.status = report.status
    if dispute.closed:
        dispute.closed_at = now
        result.changes.append("closed")
    else:
        result.changes.append("updated")


def _move_funds(result: DisputeChange, report: DisputeReport) -> None:
    """Post what the provider withdrew and reinstated, each once. Money reinstated was
    withdrawn first, even if the report of the withdrawal never came."""
    dispute = result.dispute
    withdrawn = report.withdrawn or (FundsMovement(report.amount) if report.reinstated else None)
    if withdrawn is not None:
        amount = withdrawn.amount if not dispute.funds_withdrawn else 0
        fee = 0 if dispute.fee else (withdrawn.fee or 0)
        if amount or fee:
            dispute.funds_withdrawn += amount
            dispute.fee += fee
            postings.dispute_withdrawn(dispute, amount=amount, fee=fee)
            result.changes.append("funds_withdrawn")
    if report.reinstated is not None:
        amount = report.reinstated.amount if not dispute.funds_reinstated else 0
        fee = 0 if dispute.fee_reinstated else (report.reinstated.fee or 0)
        if amount or fee:
            dispute.funds_reinstated += amount
            dispute.fee_reinstated += fee
            postings.dispute_reinstated(dispute, amount=amount, fee=fee)
            result.changes.append("funds_reinstated")


def _tell(
    payment: Payment,
    result: DisputeChange,
    previous_status: str | None,
    *,
    source: str,
    detail: dict,
) -> None:
    """Timeline notes for every change (or the ignored report), then the webhooks."""
    dispute = result.dispute
    facts = {
        **detail,
        "dispute": dispute.pk,
        "provider_dispute": dispute.provider_reference,
        "status": dispute.status,
        "amount": dispute.amount,
        "currency": dispute.currency,
    }
    for change in result.changes or ["ignored"]:
        note = {**facts, "note": f"dispute_{change}"}
        if change == "funds_withdrawn":
            note.update(funds_withdrawn=dispute.funds_withdrawn, fee=dispute.fee)
        elif change == "funds_reinstated":
            note.update(funds_reinstated=dispute.funds_reinstated, fee=dispute.fee_reinstated)
        elif change == "ignored":
            note["ignored"] = "dispute_closed" if dispute.closed else "stale_or_no_change"
        transitions.record_note(payment, to_state=payment.state, source=source, detail=note)
    payload = dispute_payload(dispute)
    if "opened" in result.changes:
        _publish(dispute, PAYMENT_DISPUTE_OPENED, payload)
    if "updated" in result.changes:
        _publish(dispute, PAYMENT_DISPUTE_UPDATED, {**payload, "previous_status": previous_status})
    if "closed" in result.changes:
        _publish(dispute, PAYMENT_DISPUTE_CLOSED, payload)


def _publish(dispute: Dispute, event_type: str, payload: dict) -> None:
    publish(tenant=dispute.payment.tenant, type=event_type, subject_id=dispute.pk, payload=payload)
