"""The one place a payment's state changes: the timeline row and the domain event.

Which moves are allowed is a pure rule (payments/rules/states.py). A message that would
move a payment backwards or out of a finished state (a late or re-ordered provider
webhook) is recorded in the timeline as ignored and changes nothing.

Every applied change writes a timeline row and publishes a domain event in the
caller's transaction; callers lock the payment row first (payments/services/locking.py).
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from hub.events.outbox import publish
from payments.events import EVENT_FOR_STATE, PAYMENT_CREATED, PAYMENT_FAILED, payment_payload
from payments.models import FINISHED_STATES, Payment, PaymentEvent, PaymentMethod, PaymentState
from payments.rules.states import RETURNABLE, is_allowed
from tenants.statements import CompiledInsert

S = PaymentState
# Every change of every payment writes one: its INSERT built once per process.
_TIMELINE_INSERT = CompiledInsert(PaymentEvent)


def record_creation(payment: Payment, *, source: str) -> None:
    _require_transaction()
    _timeline(payment, "", S.CREATED, applied=True, source=source, detail={})
    _publish(payment, PAYMENT_CREATED, {})


def transition(
    payment: Payment,
    to_state: str,
    *,
    source: str,
    detail: dict | None = None,
    failure_code: str = "",
    failure_message: str = "",
) -> bool:
    """Apply ``to_state`` if allowed (True); otherwise record it as ignored (False)."""
    _require_transaction()
    detail = dict(detail or {})
    from_state = payment.state
    if not is_allowed(from_state, to_state):
        detail["ignored"] = "no_change" if from_state == to_state else "not_allowed_from_state"
        _timeline(payment, from_state, to_state, applied=False, source=source, detail=detail)
        return False
    now = timezone.now()
    payment.state = to_state
    if to_state in (S.FAILED, S.ERROR):
        payment.failure_code = failure_code[:50]
        payment.failure_message = failure_message[:500]
    if to_state in FINISHED_STATES:
        payment.finished_at = now
    payment.updated_at = now
    payment.save(
        update_fields=["state", "failure_code", "failure_message", "finished_at", "updated_at"]
    )
    _timeline(payment, from_state, to_state, applied=True, source=source, detail=detail)
    extra = {"return": False} if to_state == S.FAILED else {}
    _publish(payment, EVENT_FOR_STATE[to_state], extra)
    return True


def record_return(
    payment: Payment,
    *,
    reason_code: str,
    message: str,
    returned_on: str,
    source: str,
    detail: dict | None = None,
) -> bool:
    """The one backwards move: a direct debit the bank took back becomes failed."""
    _require_transaction()
    detail = {**(detail or {}), "return": True, "reason_code": reason_code}
    from_state = payment.state
    if payment.method != PaymentMethod.DIRECT_DEBIT or from_state not in RETURNABLE:
        detail["ignored"] = (
            "already_returned" if from_state == S.FAILED else "not_returnable_from_state"
        )
        _timeline(payment, from_state, S.FAILED, applied=False, source=source, detail=detail)
        return False
    now = timezone.now()
    payment.state = S.FAILED
    payment.failure_code = reason_code[:50]
    payment.failure_message = message[:500]
    payment.finished_at = now
    payment.updated_at = now
    payment.save(
        update_fields=["state", "failure_code", "failure_message", "finished_at", "updated_at"]
    )
    _timeline(payment, from_state, S.FAILED, applied=True, source=source, detail=detail)
    _publish(
        payment,
        PAYMENT_FAILED,
        {
            "return": True,
            "reason_code": reason_code,
            "returned_on": returned_on,
            "return_source": source,
            "was_collected": from_state == S.SUCCESS,
        },
    )
    return True


def record_note(payment: Payment, *, to_state: str, source: str, detail: dict) -> None:
    """A provider message that moves nothing but belongs in the story (a declined
    attempt the payer may retry)."""
    _timeline(payment, payment.state, to_state, applied=False, source=source, detail=detail)


def _timeline(payment, from_state, to_state, *, applied, source, detail) -> None:
    _TIMELINE_INSERT.insert(
        PaymentEvent(
            tenant_id=payment.tenant_id,
            payment=payment,
            from_state=from_state,
            to_state=to_state,
            applied=applied,
            source=source[:50],
            detail=detail,
        )
    )


def _publish(payment: Payment, event_type: str, extra: dict) -> None:
    publish(
        tenant=payment.tenant,
        type=event_type,
        subject_id=payment.pk,
        payload={**payment_payload(payment), **extra},
    )


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("state changes run inside the caller's transaction, row locked")
