"""Reads about reconciliation that more than one caller needs (callers are scoped)."""

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
