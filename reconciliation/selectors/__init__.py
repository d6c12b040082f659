"""Every read reconciliation makes; nothing here writes a row (callers are scoped).

This module has the reads the API, the admin, the report pages and the services share;
the reads a run makes live beside it, one module per subject:

lookups       expected items a statement line may be: by reference, batch, amount, id
period_items  every expected item of a period, in chunks; how report rows name items
matches       what is matched already
statements    the imported statements: Stripe payouts, balances, how far reported

Payments, refunds, returns and disputes come from ``payments.selectors`` as plain
facts: reconciliation does not query payments' tables itself.
"""

from __future__ import annotations

from django.db.models import QuerySet

from reconciliation.models import (
    ReconciliationException,
    ReconciliationRun,
    ReconciliationSettings,
    RunItem,
)
from tenants.models import Tenant
from tenants.scope import tenant_scope


def settings_for(tenant: Tenant) -> ReconciliationSettings:
    """The agency's tolerances; the hub-wide defaults (unsaved) if it never set any."""
    with tenant_scope(tenant):
        existing = ReconciliationSettings.objects.filter(tenant=tenant).first()
    return existing or ReconciliationSettings(tenant=tenant)


def run_items(run: ReconciliationRun, status: str | None = None) -> QuerySet[RunItem]:
    items = RunItem.objects.filter(run=run).select_related("line", "exception")
    if status:
        items = items.filter(status=status)
    return items.order_by("id")


def run_exceptions(run: ReconciliationRun) -> QuerySet[ReconciliationException]:
    """The exceptions a run raised or saw again."""
    ids = RunItem.objects.filter(run=run, exception__isnull=False).values("exception_id")
    return ReconciliationException.objects.filter(pk__in=ids).order_by("occurred_on", "id")
