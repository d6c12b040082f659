"""Stop all collection from one person: their death, told by the registry or the bank.

Idempotent: a second call (the registry's event and an MD07 return for the same death)
finds nothing left to stop and publishes nothing.
"""

from __future__ import annotations

from django.db import transaction

from collection.models import Debt, Mandate, PaymentPlan
from collection.services import debts
from collection.services.mandates import LIVE, end_mandate
from collection.services.plans import end_plan
from tenants.models import Tenant


@transaction.atomic
def stop_collection_for_constituent(*, tenant: Tenant, constituent_id: str, reason: str) -> dict:
    """Cancel the person's plans (their scheduled instalments with them), suspend their
    debts and cancel their mandates. An instalment already with the bank keeps its outcome:
    the bank returns it (MD07) or it was collected before the death was known."""
    plans = PaymentPlan.objects.filter(
        tenant=tenant, debt__constituent_id=constituent_id, state=PaymentPlan.State.ACTIVE
    ).order_by("pk")
    plan_count = 0
    for plan in list(plans):
        end_plan(plan=plan, state=PaymentPlan.State.CANCELLED, reason=reason, touch_debt=False)
        plan_count += 1
    suspended = 0
    live_debts = Debt.objects.filter(
        tenant=tenant, constituent_id=constituent_id, state__in=debts.LIVE_STATES
    ).order_by("pk")
    for debt_id in list(live_debts.values_list("pk", flat=True)):
        suspended += debts.suspend(debts.lock_debt(debt_id), reason=reason)
    cancelled = 0
    mandates = Mandate.objects.filter(
        tenant=tenant, constituent_id=constituent_id, state__in=LIVE
    ).order_by("pk")
    for mandate in list(mandates):
        cancelled += end_mandate(mandate=mandate, state=Mandate.State.CANCELLED, reason=reason)
    return {
        "plans_cancelled": plan_count,
        "debts_suspended": suspended,
        "mandates_cancelled": cancelled,
    }
