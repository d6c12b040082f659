"""Reads that decide what collections do: which instalments a run picks, what is in flight.

Callers are inside the agency's tenant scope (an API request, a subscriber, a task that
opened ``tenant_scope``); every query here also filters by the tenant it is given, so a
cross-tenant caller (``all_tenants()``) still gets one agency's rows.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet, Sum

from collection.models import (
    CollectionAttempt,
    CollectionRun,
    CollectionSettings,
    Debt,
    Instalment,
    Mandate,
    PaymentPlan,
)
from collection.schemes import Scheme, is_business_day
from tenants.models import Tenant

DUE_STATES = (Instalment.State.SCHEDULED, Instalment.State.RETRYING)
IN_FLIGHT_STATES = (Instalment.State.SUBMITTED,)
OPEN_INSTALMENT_STATES = (*DUE_STATES, *IN_FLIGHT_STATES)
COLLECTABLE_DEBT_STATES = (Debt.State.IN_PLAN, Debt.State.IN_ARREARS)


def collection_settings(tenant: Tenant) -> CollectionSettings:
    """The agency's settings; an agency that never saved any gets the defaults."""
    found = CollectionSettings.objects.filter(tenant=tenant).first()
    return found if found is not None else CollectionSettings(tenant=tenant)


def collectable_instalments(tenant: Tenant) -> QuerySet[Instalment]:
    """Instalments waiting to be presented whose plan, mandate and debt all allow it."""
    return Instalment.objects.filter(
        tenant=tenant,
        state__in=DUE_STATES,
        plan__state=PaymentPlan.State.ACTIVE,
        mandate__state=Mandate.State.ACTIVE,
        debt__state__in=COLLECTABLE_DEBT_STATES,
    )


def schemes_open_on(day: dt.date) -> list[str]:
    """Schemes whose clearing accepts files on ``day``: a run submits only to those."""
    return [scheme.value for scheme in Scheme if is_business_day(day, scheme)]


def due_instalments(tenant: Tenant, run_date: dt.date) -> QuerySet[Instalment]:
    """What a run on ``run_date`` presents: everything whose last submission day has come.

    ``submit_on`` is the instalment's due date rolled onto its scheme's business days and
    moved back by the scheme lead time (plus the agency's bank buffer) when it was
    scheduled, so this is one indexed range query. Instalments whose submission day passed
    without a run (runs paused, a weekend before a holiday) are still due; the run then
    asks for the earliest settlement date it can reach.
    """
    return collectable_instalments(tenant).filter(
        submit_on__lte=run_date, scheme__in=schemes_open_on(run_date)
    )


def in_flight_amount(debt: Debt) -> int:
    """Presented to the bank, outcome unknown: neither collected nor failed yet."""
    total = Instalment.objects.filter(
        tenant_id=debt.tenant_id, debt=debt, state__in=IN_FLIGHT_STATES
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def active_plan(debt: Debt) -> PaymentPlan | None:
    return PaymentPlan.objects.filter(
        tenant_id=debt.tenant_id, debt=debt, state=PaymentPlan.State.ACTIVE
    ).first()


def attempt_for_payment(tenant: Tenant, payment_id: str, *, lock: bool = False):
    """The collection attempt a payment carries, or None for payments collections did not
    make (card payments, another app's direct debits)."""
    attempts = CollectionAttempt.objects.filter(tenant=tenant, payment_id=payment_id)
    if lock:
        attempts = attempts.select_for_update(of=("self",))
    return attempts.first()


def run_attempt_counts(run: CollectionRun) -> dict[str, dict]:
    """Live totals of a run's attempts by state: what has come back since it completed."""
    rows = (
        CollectionAttempt.objects.filter(tenant_id=run.tenant_id, run=run)
        .values("state", "currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("state", "currency")
    )
    counts: dict[str, dict] = {}
    for row in rows:
        per_state = counts.setdefault(row["state"], {})
        per_state[row["currency"]] = {"count": row["count"], "amount": row["amount"] or 0}
    return counts


def instalment_with_parties(tenant: Tenant, instalment_id: str) -> Instalment | None:
    """An instalment with its debt, mandate, debtor and service (what a notice names)."""
    return (
        Instalment.objects.filter(tenant=tenant, pk=instalment_id)
        .select_related("debt__constituent", "debt__service", "mandate", "plan")
        .first()
    )


def mandate_with_debtor(tenant: Tenant, mandate_id: str) -> Mandate | None:
    return (
        Mandate.objects.filter(tenant=tenant, pk=mandate_id).select_related("constituent").first()
    )


def debt_with_debtor(tenant: Tenant, debt_id: str) -> Debt | None:
    return (
        Debt.objects.filter(tenant=tenant, pk=debt_id)
        .select_related("constituent", "service")
        .first()
    )
