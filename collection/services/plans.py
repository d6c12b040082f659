"""Payment plans: a debt's outstanding balance split into instalments on a mandate.

A plan covers exactly what is owed when it is agreed (the balance; never more, so a debtor
is never over-collected). Instalment amounts come from the scheme library: an even split
with the odd cents first, or the agency's own dates and amounts, which must add up exactly.
Each instalment stores the last business day on which it can be submitted, computed from
its scheme's calendar and lead time, which is what a run selects on.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from collection import events
from collection.models import Debt, Instalment, Mandate, PaymentPlan
from collection.schemes import (
    ScheduleError,
    Scheme,
    schedule_dates,
    split_evenly,
    submission_date,
    validate_explicit,
)
from collection.selectors import OPEN_INSTALMENT_STATES, collection_settings, in_flight_amount
from collection.services import debts
from collection.services.payloads import instalment_payload
from hub.errors import Conflict, InvalidRequest, RuleViolation
from hub.events.outbox import publish
from tenants.models import Tenant

P = PaymentPlan.State
IS = Instalment.State
CANCELLABLE_INSTALMENTS = (IS.SCHEDULED, IS.RETRYING)


def _instalment_items(
    *,
    total: int,
    frequency: str | None,
    count: int | None,
    first_date: dt.date | None,
    schedule: list[tuple[dt.date, int]] | None,
) -> list[tuple[dt.date, int]]:
    try:
        if schedule is not None:
            return validate_explicit(total, schedule)
        dates = schedule_dates(first_date, count, frequency)
        return list(zip(dates, split_evenly(total, count), strict=True))
    except ScheduleError as exc:
        field = "instalments" if schedule is not None else "count"
        if exc.code == "invalid_frequency":
            field = "frequency"
        if exc.code in ("total_mismatch", "too_many_instalments", "non_positive_amount"):
            exc_message = f"{exc.message} (the debt's outstanding balance is {total})"
            raise RuleViolation(exc_message, code=exc.code, field=field) from None
        raise InvalidRequest(exc.message, code=exc.code, field=field) from None


def _usable_mandate(tenant: Tenant, debt: Debt, mandate_id: str) -> Mandate:
    mandate = Mandate.objects.filter(tenant=tenant, pk=mandate_id).first()
    if mandate is None:
        raise InvalidRequest("No such mandate", code="does_not_exist", field="mandate")
    if mandate.constituent_id != debt.constituent_id:
        raise RuleViolation(
            "The mandate belongs to another constituent than the debtor",
            code="mandate_of_another_debtor",
            field="mandate",
        )
    if mandate.state not in (Mandate.State.PENDING, Mandate.State.ACTIVE):
        raise RuleViolation(
            f"The mandate is {mandate.state}", code="mandate_not_usable", field="mandate"
        )
    if mandate.currency != debt.currency:
        raise RuleViolation(
            f"A {mandate.scheme} mandate collects {mandate.currency}, the debt is in "
            f"{debt.currency}",
            code="currency_mismatch",
            field="mandate",
        )
    return mandate


def _check_mandate_use(
    tenant: Tenant, mandate: Mandate, items: list, *, ends_mandate: bool
) -> bool:
    """Refuse a plan the mandate cannot carry; return whether the plan ends the mandate."""
    live_plans = PaymentPlan.objects.filter(tenant=tenant, mandate=mandate).exclude(
        state=P.CANCELLED
    )
    if mandate.usage == Mandate.Usage.ONE_OFF:
        if len(items) != 1:
            raise RuleViolation(
                "A one-off mandate allows a single collection: the plan needs exactly one "
                "instalment",
                code="one_off_mandate_single_collection",
                field="mandate",
            )
        if mandate.ever_collected or mandate.first_collection_presented or live_plans.exists():
            raise RuleViolation(
                "This one-off mandate has been used already",
                code="one_off_mandate_used",
                field="mandate",
            )
        return True
    ended_by = live_plans.filter(ends_mandate=True).first()
    if ended_by is not None:
        raise RuleViolation(
            f"The mandate ends with payment plan {ended_by.pk}; a new plan needs a new mandate",
            code="mandate_ends_with_plan",
            field="mandate",
        )
    if ends_mandate and live_plans.filter(state=P.ACTIVE).exists():
        # FNAL must really be the mandate's last collection.
        raise RuleViolation(
            "Another active plan collects through this mandate, so this plan cannot end it",
            code="mandate_in_use",
            field="ends_mandate",
        )
    return ends_mandate


@transaction.atomic
def create_plan(
    *,
    tenant: Tenant,
    debt: Debt,
    mandate_id: str,
    frequency: str | None = None,
    count: int | None = None,
    first_date: dt.date | None = None,
    schedule: list[tuple[dt.date, int]] | None = None,
    ends_mandate: bool = False,
    today: dt.date | None = None,
) -> PaymentPlan:
    """Agree a plan: ``count`` + ``frequency`` + ``first_date``, or an explicit ``schedule``.

    ``ends_mandate``: the mandate is used for nothing after this plan, so its last
    collection goes to the bank as FNAL. A one-off mandate carries exactly one plan of one
    instalment (sent as OOFF), and that plan always ends it.
    """
    today = today or timezone.localdate()
    debt = debts.lock_debt(debt)
    if PaymentPlan.objects.filter(tenant=tenant, debt=debt, state=P.ACTIVE).exists():
        raise Conflict(
            "This debt already has an active payment plan; cancel it first", code="plan_exists"
        )
    if debt.state not in (Debt.State.OPEN, Debt.State.IN_ARREARS):
        raise RuleViolation(f"A debt in state {debt.state} cannot get a plan", code="invalid_state")
    mandate = _usable_mandate(tenant, debt, mandate_id)
    if in_flight_amount(debt):
        raise RuleViolation(
            "An instalment of this debt is with the bank; agree a new plan once it is settled",
            code="collection_in_flight",
        )
    items = _instalment_items(
        total=debt.balance,
        frequency=frequency,
        count=count,
        first_date=first_date,
        schedule=schedule,
    )
    ends_mandate = _check_mandate_use(tenant, mandate, items, ends_mandate=bool(ends_mandate))
    if items[0][0] < today:
        raise InvalidRequest(
            f"The first instalment date {items[0][0]} is in the past",
            code="date_in_past",
            field="instalments" if schedule is not None else "first_date",
        )
    plan = PaymentPlan.objects.create(
        tenant=tenant,
        debt=debt,
        mandate=mandate,
        frequency=frequency if schedule is None else "",
        total=debt.balance,
        currency=debt.currency,
        ends_mandate=ends_mandate,
    )
    scheme = Scheme(mandate.scheme)
    buffer = collection_settings(tenant).submission_buffer_days
    Instalment.objects.bulk_create(
        Instalment(
            tenant=tenant,
            plan=plan,
            debt=debt,
            mandate=mandate,
            scheme=scheme.value,
            sequence=number,
            due_date=due,
            amount=amount,
            currency=debt.currency,
            collect_on=due,
            submit_on=submission_date(due, scheme, buffer_days=buffer),
        )
        for number, (due, amount) in enumerate(items, start=1)
    )
    debts.enter_plan(debt)
    publish(
        tenant=tenant,
        type=events.PLAN_CREATED,
        subject_id=plan.pk,
        payload={
            "id": plan.pk,
            "debt": debt.pk,
            "mandate": mandate.pk,
            "total": plan.total,
            "currency": plan.currency,
            "instalments": [instalment_payload(i) for i in plan.instalments.order_by("sequence")],
        },
    )
    return plan


def _publish_plan(plan: PaymentPlan, event_type: str) -> None:
    publish(
        tenant=plan.tenant,
        type=event_type,
        subject_id=plan.pk,
        payload={
            "id": plan.pk,
            "debt": plan.debt_id,
            "mandate": plan.mandate_id,
            "state": plan.state,
            "reason": plan.end_reason,
        },
    )


def end_plan(
    *,
    plan: PaymentPlan,
    state: str,
    reason: str,
    instalment_state: str = IS.CANCELLED,
    touch_debt: bool = True,
    today: dt.date | None = None,
) -> None:
    """Stop a plan inside the caller's transaction. Instalments not yet presented stop
    with it; one already with the bank keeps its outcome, whenever that comes."""
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.state != P.ACTIVE:
        return
    now = timezone.now()
    Instalment.objects.filter(
        tenant=plan.tenant, plan=plan, state__in=CANCELLABLE_INSTALMENTS
    ).update(state=instalment_state, updated_at=now)
    plan.state = state
    plan.end_reason = reason[:200]
    plan.ended_at = now
    plan.save(update_fields=["state", "end_reason", "ended_at"])
    if touch_debt:
        debts.leave_plan(debts.lock_debt(plan.debt_id), today=today or timezone.localdate())
    _publish_plan(plan, events.PLAN_COMPLETED if state == P.COMPLETED else events.PLAN_CANCELLED)


def end_active_plan(*, debt: Debt, state: str, reason: str, **kwargs) -> None:
    plan = PaymentPlan.objects.filter(tenant=debt.tenant, debt=debt, state=P.ACTIVE).first()
    if plan is not None:
        end_plan(plan=plan, state=state, reason=reason, **kwargs)


@transaction.atomic
def cancel_plan(*, plan: PaymentPlan, reason: str) -> PaymentPlan:
    if plan.state != P.ACTIVE:
        raise Conflict(f"This payment plan is already {plan.state}", code="invalid_state")
    end_plan(plan=plan, state=P.CANCELLED, reason=reason or "cancelled by the agency")
    plan.refresh_from_db()
    return plan


def complete_plan_if_finished(plan: PaymentPlan) -> bool:
    """Every instalment reached an end: the plan is completed (paid off or not)."""
    if plan.state != P.ACTIVE:
        return False
    unfinished = Instalment.objects.filter(
        tenant=plan.tenant, plan=plan, state__in=OPEN_INSTALMENT_STATES
    ).exists()
    if unfinished:
        return False
    end_plan(plan=plan, state=P.COMPLETED, reason="every instalment finished")
    return True
