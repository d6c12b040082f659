"""What happens to an instalment when its payment succeeds, fails or comes back.

Design: collections learn every outcome from the payment events, never where they cause it
---------------------------------------------------------------------------------------
A direct debit's outcome reaches the hub along several roads: a Stripe webhook (handled by
payments), a bank status report the agency uploads here (pain.002), a bank statement line
(reconciliation), the maturity job that confirms bank-file debits after settlement. Each of
them calls a payments service, and payments publishes ``payment.succeeded`` or
``payment.failed`` in the same transaction. Collections subscribe to those two events and
apply the outcome in ``apply_success`` / ``apply_failure``, and nowhere else:

* one code path applies the return-code rules, whoever reported the return, so a Stripe
  return and a pain.002 reject with the same code do exactly the same thing;
* the dependency direction holds: payments never knows about instalments, and collections
  never infer an outcome from payments' internals;
* a duplicate or late event is harmless: the attempt row is locked and its state says
  whether the outcome was already applied (the subscriber receipt makes it once anyway).

The price is that an instalment moves a moment after its payment (the dispatcher runs on
commit). The balance identity amount - collected + returned holds at every commit because
both sides of it move together, here.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from collection import events
from collection.models import (
    CollectionAttempt,
    CollectionProvider,
    Debt,
    Instalment,
    Mandate,
    PaymentPlan,
)
from collection.schemes import (
    ReturnAction,
    Scheme,
    return_window_end,
    rule_for,
    scheme_reason_code,
    submission_date,
)
from collection.selectors import attempt_for_payment, collection_settings
from collection.services import debts
from collection.services.mandates import end_mandate
from collection.services.payloads import instalment_payload
from collection.services.plans import complete_plan_if_finished
from collection.services.stopping import stop_collection_for_constituent
from hub.events.outbox import publish
from payments import services as payments
from payments.models import Payment, PaymentState
from tenants.models import Tenant

logger = logging.getLogger(__name__)

A = CollectionAttempt.State
IS = Instalment.State


def _lock_instalment(pk: str) -> Instalment:
    return Instalment.objects.select_for_update().select_related("plan").get(pk=pk)


def _is_current(attempt: CollectionAttempt, instalment: Instalment) -> bool:
    """The attempt is the instalment's latest, so its outcome decides the instalment."""
    return attempt.number == instalment.attempt_count


@transaction.atomic
def apply_success(*, tenant: Tenant, payment_id: str) -> bool:
    """The payment was collected: the instalment is paid and the debt goes down."""
    attempt = attempt_for_payment(tenant, payment_id, lock=True)
    if attempt is None or attempt.state not in (A.PENDING, A.SUBMITTED):
        return False
    now = timezone.now()
    instalment = _lock_instalment(attempt.instalment_id)
    attempt.state = A.COLLECTED
    attempt.collected_at = now
    attempt.save(update_fields=["state", "collected_at"])
    if _is_current(attempt, instalment) and instalment.state == IS.SUBMITTED:
        instalment.state = IS.COLLECTED
        instalment.collected_at = now
        instalment.updated_at = now
        instalment.save(update_fields=["state", "collected_at", "updated_at"])
    debts.record_collected(debts.lock_debt(instalment.debt_id), attempt.amount)
    Mandate.objects.filter(pk=instalment.mandate_id, ever_collected=False).update(
        ever_collected=True
    )
    publish(
        tenant=tenant,
        type=events.INSTALMENT_COLLECTED,
        subject_id=instalment.pk,
        payload=instalment_payload(instalment, attempt),
    )
    complete_plan_if_finished(instalment.plan)
    return True


@transaction.atomic
def apply_failure(*, tenant: Tenant, payment_id: str, reason_code: str, failed_on: dt.date) -> bool:
    """The payment was rejected or returned: apply the reason code's rule."""
    attempt = attempt_for_payment(tenant, payment_id, lock=True)
    if attempt is None or attempt.state == A.FAILED:
        return False
    scheme = Scheme(attempt.scheme)
    code = scheme_reason_code(reason_code, scheme)
    rule = rule_for(code, scheme)
    instalment = _lock_instalment(attempt.instalment_id)
    debt = debts.lock_debt(instalment.debt_id)
    was_collected = attempt.state == A.COLLECTED
    attempt.state = A.FAILED
    attempt.failure_code = code[:50]
    attempt.failure_action = rule.action.value
    attempt.returned = was_collected
    attempt.failed_at = timezone.now()
    attempt.save(update_fields=["state", "failure_code", "failure_action", "returned", "failed_at"])
    current = _is_current(attempt, instalment) and instalment.state in (
        IS.SUBMITTED,
        IS.COLLECTED,
    )
    retry_on = _retry_date(attempt, instalment, debt, rule, failed_on) if current else None
    if was_collected:
        debts.record_returned(
            debt, attempt.amount, on=failed_on, plan_continues=retry_on is not None
        )
    if not current:
        # The instalment moved on (cancelled, written off) while this attempt was out:
        # the money is accounted for above, the instalment keeps its state.
        return True
    instalment.last_failure_code = attempt.failure_code
    instalment.updated_at = timezone.now()
    if retry_on is not None:
        _schedule_retry(instalment, retry_on)
    else:
        instalment.state = IS.FAILED
        instalment.save(update_fields=["state", "last_failure_code", "updated_at"])
        if rule.action is not ReturnAction.STOP_SUSPEND_DEBT:
            debts.put_in_arrears(debt, since=failed_on)
    publish(
        tenant=tenant,
        type=events.INSTALMENT_FAILED,
        subject_id=instalment.pk,
        payload={
            **instalment_payload(instalment, attempt),
            "reason_code": attempt.failure_code,
            "reason": rule.description,
            "action": rule.action.value,
            "returned": was_collected,
            "final": retry_on is None,
            "retry_on": retry_on.isoformat() if retry_on else None,
        },
    )
    _apply_stop_action(rule.action, attempt, instalment, failed_on)
    if retry_on is None:
        complete_plan_if_finished(instalment.plan)
    return True


def _retry_date(attempt, instalment, debt, rule, failed_on: dt.date) -> dt.date | None:
    if rule.action is not ReturnAction.RETRY:
        return None
    if debt.state in (Debt.State.SUSPENDED, Debt.State.WRITTEN_OFF):
        return None
    plan = instalment.plan
    if plan.state == PaymentPlan.State.COMPLETED:
        # A return after the plan finished: reopen it for the re-presentation, unless the
        # agency agreed a new plan meanwhile.
        others = PaymentPlan.objects.filter(
            tenant_id=debt.tenant_id, debt=debt, state=PaymentPlan.State.ACTIVE
        )
        if others.exists():
            return None
    elif plan.state != PaymentPlan.State.ACTIVE:
        return None
    policy = collection_settings(attempt.tenant).retry_policy()
    return policy.next_retry_date(
        failed_on,
        attempt.number,  # attempt 1 failed: this is retry number 1
        Scheme(attempt.scheme),
        rule=rule,
        first_presented=instalment.first_presented_on,
    )


def _schedule_retry(instalment: Instalment, retry_on: dt.date) -> None:
    plan = instalment.plan
    if plan.state == PaymentPlan.State.COMPLETED:
        plan.state = PaymentPlan.State.ACTIVE
        plan.ended_at = None
        plan.end_reason = ""
        plan.save(update_fields=["state", "ended_at", "end_reason"])
    buffer = collection_settings(instalment.tenant).submission_buffer_days
    instalment.state = IS.RETRYING
    instalment.collect_on = retry_on
    instalment.submit_on = submission_date(retry_on, Scheme(instalment.scheme), buffer_days=buffer)
    instalment.save(
        update_fields=["state", "collect_on", "submit_on", "last_failure_code", "updated_at"]
    )


def _apply_stop_action(action, attempt, instalment, failed_on: dt.date) -> None:
    if action is ReturnAction.STOP_CANCEL_MANDATE:
        mandate = Mandate.objects.get(pk=instalment.mandate_id)
        # A mandate that never collected anything did not fail later: it never worked.
        state = Mandate.State.CANCELLED if mandate.ever_collected else Mandate.State.FAILED
        end_mandate(mandate=mandate, state=state, reason=f"return code {attempt.failure_code}")
    elif action is ReturnAction.STOP_SUSPEND_DEBT:
        debt = Debt.objects.get(pk=instalment.debt_id)
        stop_collection_for_constituent(
            tenant=instalment.tenant,
            constituent_id=debt.constituent_id,
            reason=f"debtor deceased (return code {attempt.failure_code})",
        )


def confirm_matured_collections(*, tenant: Tenant, today: dt.date, batch_size: int = 500) -> int:
    """Bank-file debits whose settlement date has come are collected (provisionally:
    the scheme's return window stays open, see ``return_window_end``).

    No one else can say so: the bank reports only rejects and returns, so silence by the
    settlement date is success. Stripe debits are confirmed by Stripe's own webhooks.
    Confirmations commit in batches, each written set-based by payments (one statement
    per table, not twenty per payment).
    """
    due = list(
        CollectionAttempt.objects.filter(
            tenant=tenant,
            state=A.SUBMITTED,
            run__provider=CollectionProvider.BANK_FILE,
            collection_date__lte=today,
            payment__state=PaymentState.SUBMITTED,
        )
        .order_by("collection_date", "pk")
        .values_list("payment_id", "collection_date", "scheme")
    )
    confirmed = 0
    for start in range(0, len(due), batch_size):
        batch = due[start : start + batch_size]
        # One transaction and a handful of statements per batch (payments' bulk
        # service). A payment that changed meanwhile (a reject arrived: it failed) is
        # no longer submitted and is left out, as the one-by-one confirmation would.
        with transaction.atomic():
            confirmed += len(
                payments.confirm_direct_debits(
                    tenant=tenant,
                    collected=[
                        (payment_id, return_window_end(collection_date, Scheme(scheme)))
                        for payment_id, collection_date, scheme in batch
                    ],
                )
            )
    return confirmed


def provisional_until(payment: Payment, collected_on: dt.date) -> dt.date:
    """Payments asks this (``set_return_window_policy``) when Stripe reports a debit
    collected: the scheme's own return window, on its business-day calendar."""
    scheme = Scheme.BACS if payment.currency == "GBP" else Scheme.SEPA_CORE
    attempt = CollectionAttempt.objects.filter(
        tenant_id=payment.tenant_id, payment_id=payment.pk
    ).first()
    if attempt is not None:
        scheme = Scheme(attempt.scheme)
    return return_window_end(collected_on, scheme)
