"""The agency's reconciliation settings row: created, with the hub-wide defaults, by the
first write that needs it (a run's claim locks it; an edit saves it), and edited.

Reads go through ``selectors.settings_for``, which never writes: an agency that never
changed anything reads the defaults without a row being made for it.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from reconciliation.models import ReconciliationSettings
from tenants.models import Tenant
from tenants.scope import tenant_scope


def ensure_settings(tenant: Tenant) -> ReconciliationSettings:
    with tenant_scope(tenant):
        existing = ReconciliationSettings.objects.filter(tenant=tenant).first()
        if existing is not None:
            return existing
        try:
            # A savepoint: two first writes at once both try; the loser reads the winner's.
            with transaction.atomic():
                return ReconciliationSettings.objects.create(tenant=tenant)
        except IntegrityError:
            return ReconciliationSettings.objects.get(tenant=tenant)


def update_settings(
    *,
    tenant: Tenant,
    date_window_days: int | None = None,
    amount_tolerance: int | None = None,
    lookback_days: int | None = None,
    daily_run_enabled: bool | None = None,
) -> ReconciliationSettings:
    settings = ensure_settings(tenant)
    changes = {
        "date_window_days": date_window_days,
        "amount_tolerance": amount_tolerance,
        "lookback_days": lookback_days,
        "daily_run_enabled": daily_run_enabled,
    }
    for field, value in changes.items():
        if value is not None:
            setattr(settings, field, value)
    settings.updated_at = timezone.now()
    with tenant_scope(tenant):
        settings.save()
    return settings
