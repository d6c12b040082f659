"""The cross-agency daily jobs (Celery beat, through tasks.py): import the Stripe payouts
no event brought, then reconcile each agency's days up to yesterday."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.utils import timezone

from reconciliation.models import ReconciliationRun
from reconciliation.selectors import settings_for
from reconciliation.services.runs import restart_stale_runs, start_run
from reconciliation.services.stripe_payouts import sweep_stripe_payouts
from tenants.scope import tenant_scope
from tenants.selectors import active_tenants

logger = logging.getLogger(__name__)


def sweep_payouts_for_every_agency(*, days: int = 7) -> int:
    """Beat, daily: import the paid Stripe payouts no ``payout.paid`` event brought."""
    imported = 0
    for tenant in active_tenants():
        imported += sweep_stripe_payouts(tenant=tenant, days=days)
    return imported


CATCH_UP_DAYS = 7


def reconcile_yesterday_for_every_agency(*, today: date | None = None) -> list[str]:
    """Beat, daily: scheduled runs per agency up to yesterday.

    Each agency's days since its last completed scheduled run are reconciled oldest
    first (at most ``CATCH_UP_DAYS``), so a day whose run failed, or that the beat
    missed, is done the next morning; an agency with no scheduled run yet starts with
    yesterday. Safe to run twice: completed days are skipped. Runs a killed worker left
    ``running`` are restarted first."""
    yesterday = (today or timezone.localdate()) - timedelta(days=1)
    started = []
    for tenant in active_tenants():
        try:
            # A run a killed worker left "running" would refuse today's runs; it is
            # abandoned and its period reconciled again first (see runs.py).
            started.extend(run.pk for run in restart_stale_runs(tenant=tenant))
        except Exception:
            logger.exception("restarting stale reconciliation runs of %s failed", tenant.slug)
        with tenant_scope(tenant):
            if not settings_for(tenant).daily_run_enabled:
                continue
            last_done = (
                ReconciliationRun.objects.filter(
                    trigger=ReconciliationRun.Trigger.SCHEDULE,
                    state=ReconciliationRun.State.COMPLETED,
                    period_end__lte=yesterday,
                )
                .order_by("-period_end")
                .values_list("period_end", flat=True)
                .first()
            )
        first = yesterday if last_done is None else last_done + timedelta(days=1)
        first = max(first, yesterday - timedelta(days=CATCH_UP_DAYS - 1))
        for offset in range((yesterday - first).days + 1):
            day = first + timedelta(days=offset)
            try:
                run = start_run(
                    tenant=tenant,
                    period_start=day,
                    period_end=day,
                    trigger=ReconciliationRun.Trigger.SCHEDULE,
                    requested_by="schedule",
                )
            except Exception:
                # One agency's failure must not stop the others' runs. The run is
                # abandoned (its committed matches stay); tomorrow's beat starts again
                # from this day, as it is not completed.
                logger.exception("daily reconciliation of %s for %s failed", tenant.slug, day)
                break
            started.append(run.pk)
    return started
