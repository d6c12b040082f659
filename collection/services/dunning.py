"""The dunning ladder: reminder, final notice, referral — each step once per spell of arrears.

The hub does not write letters: each step publishes ``dunning.step`` and the agency's own
systems send the letter, call, or refer the case. A step fires once per debt and spell of
arrears (a unique row per debt, step and ``arrears_since``), however often the job runs; a
debt that leaves arrears and falls back in starts the ladder again.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from collection import events
from collection.models import Debt, DunningNotice
from collection.selectors import collection_settings
from collection.services.debts import lock_debt
from collection.services.payloads import debt_payload
from hub.events.outbox import publish
from tenants.models import Tenant


def _fire(debt: Debt, step: dict, *, today: dt.date, days: int) -> bool:
    already = DunningNotice.objects.filter(
        tenant=debt.tenant, debt=debt, step=step["step"], arrears_since=debt.arrears_since
    ).exists()
    if already:
        return False
    notice = DunningNotice.objects.create(
        tenant=debt.tenant,
        debt=debt,
        step=step["step"],
        arrears_since=debt.arrears_since,
        days_in_arrears=days,
        balance=debt.balance,
        fired_on=today,
    )
    debt.dunning_step = step["step"]
    debt.save(update_fields=["dunning_step"])
    publish(
        tenant=debt.tenant,
        type=events.DUNNING_STEP,
        subject_id=debt.pk,
        payload={
            "debt": debt_payload(debt),
            "step": notice.step,
            "after_days": step["after_days"],
            "days_in_arrears": days,
            "notice": notice.pk,
        },
    )
    return True


def run_dunning(*, tenant: Tenant, today: dt.date) -> int:
    """Fire every step a debt in arrears has reached and not had yet, in ladder order."""
    ladder = sorted(collection_settings(tenant).dunning_ladder, key=lambda s: s["after_days"])
    if not ladder:
        return 0
    first = ladder[0]["after_days"]
    candidates = Debt.objects.filter(
        tenant=tenant,
        state=Debt.State.IN_ARREARS,
        arrears_since__lte=today - dt.timedelta(days=first),
    ).values_list("pk", flat=True)
    fired = 0
    for debt_id in list(candidates):
        with transaction.atomic():
            debt = lock_debt(debt_id)  # the lock makes two concurrent jobs fire a step once
            if debt.state != Debt.State.IN_ARREARS or debt.arrears_since is None:
                continue
            days = (today - debt.arrears_since).days
            for step in ladder:
                if step["after_days"] <= days:
                    fired += _fire(debt, step, today=today, days=days)
    return fired
