"""Debts: recording them, and every change to their balance and state.

The balance moves only through ``record_collected`` and ``record_returned`` (the outcomes
of collection attempts), and the database refuses any row where balance differs from
amount - collected + returned. State changes that other modules cause (a plan agreed, an
instalment failing for good, a death) go through the small functions here so each publishes
its event exactly when the state really changes.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from collection import events
from collection.models import Debt
from collection.services.payloads import debt_payload
from hub.errors import Conflict, InvalidRequest, RuleViolation
from hub.events.outbox import publish
from registration.selectors import visible_constituent
from tenants.models import Service, Tenant

S = Debt.State
# States from which a debt can still be collected or settled.
LIVE_STATES = (S.OPEN, S.IN_PLAN, S.IN_ARREARS)
WRITABLE_OFF_STATES = (S.OPEN, S.IN_PLAN, S.IN_ARREARS, S.SUSPENDED)


def lock_debt(debt: Debt | str) -> Debt:
    pk = debt.pk if isinstance(debt, Debt) else debt
    return Debt.objects.select_for_update().get(pk=pk)


def _save(debt: Debt, *fields: str) -> None:
    debt.updated_at = timezone.now()
    debt.save(update_fields=[*fields, "updated_at"])


def _publish(debt: Debt, event_type: str, **extra) -> None:
    publish(
        tenant=debt.tenant,
        type=event_type,
        subject_id=debt.pk,
        payload={**debt_payload(debt), **extra},
    )


@transaction.atomic
def create_debt(
    *,
    tenant: Tenant,
    constituent_id: str,
    service_id: str,
    reference: str,
    description: str,
    amount: int,
    currency: str,
    due_date: dt.date,
) -> Debt:
    """A constituent the agency is registered with owes it ``amount`` for a service."""
    constituent = visible_constituent(tenant, constituent_id)
    if constituent is None:
        raise InvalidRequest("No such constituent", code="does_not_exist", field="constituent")
    service = Service.objects.filter(tenant=tenant, pk=service_id).first()
    if service is None:
        raise InvalidRequest("No such service", code="does_not_exist", field="service")
    if not service.active:
        raise RuleViolation("This service is not active", code="service_inactive", field="service")
    if Debt.objects.filter(tenant=tenant, reference=reference).exists():
        raise Conflict(
            f"A debt with reference {reference!r} already exists",
            code="duplicate_reference",
            field="reference",
        )
    try:
        with transaction.atomic():
            debt = Debt.objects.create(
                tenant=tenant,
                constituent=constituent,
                service=service,
                reference=reference,
                description=description,
                amount=amount,
                currency=currency,
                due_date=due_date,
                balance=amount,
            )
    except IntegrityError:
        # A concurrent request with the same reference won the unique index.
        raise Conflict(
            f"A debt with reference {reference!r} already exists",
            code="duplicate_reference",
            field="reference",
        ) from None
    _publish(debt, events.DEBT_CREATED)
    return debt


def record_write_off(debt: Debt, *, reason: str, actor: str) -> None:
    """The debt's own part of a write-off (services/write_offs.py does the rest): what is
    left is no longer pursued. ``debt`` is locked by the caller."""
    debt.state = S.WRITTEN_OFF
    debt.amount_written_off = debt.balance
    debt.write_off_reason = reason.strip()[:500]
    debt.written_off_by = actor[:200]
    debt.written_off_at = timezone.now()
    _save(
        debt, "state", "amount_written_off", "write_off_reason", "written_off_by", "written_off_at"
    )
    _publish(debt, events.DEBT_WRITTEN_OFF, reason=debt.write_off_reason)


def record_collected(debt: Debt, amount: int) -> None:
    """An attempt was collected. ``debt`` is locked by the caller."""
    debt.amount_collected += amount
    debt.balance -= amount
    fields = ["amount_collected", "balance"]
    if debt.balance <= 0 and debt.state in LIVE_STATES:
        debt.state = S.PAID
        debt.paid_at = timezone.now()
        debt.arrears_since = None
        debt.dunning_step = ""
        fields += ["state", "paid_at", "arrears_since", "dunning_step"]
        _save(debt, *fields)
        _publish(debt, events.DEBT_PAID)
        return
    _save(debt, *fields)


def record_returned(debt: Debt, amount: int, *, on: dt.date, plan_continues: bool) -> None:
    """A collected attempt came back. ``debt`` is locked by the caller.

    A paid debt is owed again: back in its plan when the instalment will be presented
    again, otherwise in arrears from the day of the return.
    """
    debt.amount_returned += amount
    debt.balance += amount
    fields = ["amount_returned", "balance"]
    if debt.state == S.PAID:
        debt.paid_at = None
        fields.append("paid_at")
        if plan_continues:
            debt.state = S.IN_PLAN
            fields.append("state")
        else:
            _save(debt, *fields)
            put_in_arrears(debt, since=on)
            return
    _save(debt, *fields)


def put_in_arrears(debt: Debt, *, since: dt.date) -> bool:
    """Overdue from ``since``: the dunning ladder starts counting. Locked by the caller."""
    if debt.state not in (S.OPEN, S.IN_PLAN, S.PAID) or debt.balance <= 0:
        return False
    debt.state = S.IN_ARREARS
    debt.arrears_since = since
    debt.dunning_step = ""
    _save(debt, "state", "arrears_since", "dunning_step")
    _publish(debt, events.DEBT_IN_ARREARS)
    return True


def enter_plan(debt: Debt) -> None:
    """A plan was agreed: the arrangement replaces any arrears and restarts dunning."""
    debt.state = S.IN_PLAN
    debt.arrears_since = None
    debt.dunning_step = ""
    _save(debt, "state", "arrears_since", "dunning_step")


def leave_plan(debt: Debt, *, today: dt.date) -> None:
    """The plan ended without paying the debt off: owed now if the due date has passed."""
    if debt.state != S.IN_PLAN or debt.balance <= 0:
        return
    if debt.due_date < today:
        put_in_arrears(debt, since=today)
        return
    debt.state = S.OPEN
    _save(debt, "state")


def suspend(debt: Debt, *, reason: str) -> bool:
    if debt.state not in LIVE_STATES:
        return False
    debt.state = S.SUSPENDED
    debt.suspended_reason = reason[:200]
    _save(debt, "state", "suspended_reason")
    _publish(debt, events.DEBT_SUSPENDED, reason=debt.suspended_reason)
    return True


def mark_overdue_debts_in_arrears(*, tenant: Tenant, today: dt.date) -> int:
    """Debts without a plan, past their due date and unpaid, are in arrears from the day
    after the due date (so dunning counts from when the debtor was actually late)."""
    overdue = Debt.objects.filter(
        tenant=tenant, state=S.OPEN, due_date__lt=today, balance__gt=0
    ).values_list("pk", flat=True)
    moved = 0
    for debt_id in list(overdue):
        with transaction.atomic():
            debt = lock_debt(debt_id)
            if debt.state == S.OPEN and debt.due_date < today:
                moved += put_in_arrears(debt, since=debt.due_date + dt.timedelta(days=1))
    return moved
