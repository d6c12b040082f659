"""The daily job per agency: housekeeping first, then the day's collection run.

Order matters: Bacs mandates that became usable today are activated before the run picks
instalments, and advance notices are asked for before the run holds what had none;
debits settled by today are confirmed before arrears and dunning look at balances.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from collection.models import CollectionRun
from collection.selectors import collection_settings, schemes_open_on
from collection.services import advance_notices, debts, dunning, mandates, outcomes, runs
from hub.errors import RuleViolation
from tenants.models import Tenant

logger = logging.getLogger(__name__)


@dataclass
class DailyReport:
    mandates_activated: int = 0
    mandates_expired: int = 0
    collections_confirmed: int = 0
    debts_in_arrears: int = 0
    dunning_steps: int = 0
    advance_notices_requested: int = 0
    run: str | None = None


def maintain(*, tenant: Tenant, today: dt.date) -> DailyReport:
    report = DailyReport()
    report.mandates_activated = mandates.activate_due_mandates(tenant=tenant, today=today)
    report.mandates_expired = mandates.expire_unused_mandates(tenant=tenant, today=today)
    # After activation (a mandate usable today may need its first notice), before the run.
    report.advance_notices_requested = advance_notices.request_advance_notices(
        tenant=tenant, today=today
    )
    report.collections_confirmed = outcomes.confirm_matured_collections(tenant=tenant, today=today)
    report.debts_in_arrears = debts.mark_overdue_debts_in_arrears(tenant=tenant, today=today)
    report.dunning_steps = dunning.run_dunning(tenant=tenant, today=today)
    return report


def run_day(*, tenant: Tenant, today: dt.date) -> DailyReport:
    """Housekeeping, then the scheduled run when some scheme's clearing is open today."""
    report = maintain(tenant=tenant, today=today)
    if not schemes_open_on(today) or collection_settings(tenant).runs_paused:
        return report
    try:
        run = runs.start_run(
            tenant=tenant,
            run_date=today,
            trigger=CollectionRun.Trigger.SCHEDULE,
            record_refusal=True,
        )
    except RuleViolation as exc:
        # Nothing is due (a failed run is recorded when something is): not a warning.
        logger.info("no collection run for %s on %s: %s", tenant.slug, today, exc.message)
        return report
    report.run = run.pk
    return report
