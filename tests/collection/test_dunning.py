"""The dunning ladder: each step fires once per spell of arrears, however often it runs."""

from __future__ import annotations

import datetime as dt

import pytest

from collection.models import Debt, DunningNotice
from collection.services import daily, dunning, plans
from tenants.scope import tenant_scope
from tests.collection.conftest import events_of

pytestmark = pytest.mark.django_db

DUE = dt.date(2024, 3, 1)


def day(n: int) -> dt.date:
    """``n`` days after the debt fell into arrears (the day after its due date)."""
    return DUE + dt.timedelta(days=1 + n)


def maintain(tenant, today):
    with tenant_scope(tenant):
        return daily.maintain(tenant=tenant, today=today)


def steps_of(debt) -> list[str]:
    return [e.payload["step"] for e in events_of("dunning.step", debt.pk)]


def test_an_unpaid_debt_past_its_due_date_falls_into_arrears_the_next_day(tenant, collections):
    debt = collections.debt(due_date=DUE)
    assert maintain(tenant, DUE).debts_in_arrears == 0
    assert maintain(tenant, DUE + dt.timedelta(days=1)).debts_in_arrears == 1
    with tenant_scope(tenant):
        debt.refresh_from_db()
    assert (debt.state, debt.arrears_since) == (Debt.State.IN_ARREARS, day(0))
    assert len(events_of("debt.in_arrears", debt.pk)) == 1


def test_each_step_fires_once_even_when_the_job_runs_twice(tenant, collections):
    debt = collections.debt(due_date=DUE)
    maintain(tenant, day(0))
    for n, expected in [
        (2, []),
        (3, ["reminder"]),
        (13, ["reminder"]),
        (14, ["reminder", "final_notice"]),
        (28, ["reminder", "final_notice", "referral"]),
        (40, ["reminder", "final_notice", "referral"]),
    ]:
        maintain(tenant, day(n))
        maintain(tenant, day(n))  # the job runs twice (a redelivered task, a rerun)
        assert steps_of(debt) == expected, n
    with tenant_scope(tenant):
        debt.refresh_from_db()
        notices = list(DunningNotice.objects.filter(debt=debt).order_by("created_at"))
    assert debt.dunning_step == "referral"
    assert [(n.step, n.days_in_arrears) for n in notices] == [
        ("reminder", 3),
        ("final_notice", 14),
        ("referral", 28),
    ]
    event = events_of("dunning.step", debt.pk)[0]
    assert event.payload["debt"]["balance"] == debt.balance
    assert event.payload["days_in_arrears"] == 3


def test_a_late_job_fires_every_step_reached_in_order_once(tenant, collections):
    debt = collections.debt(due_date=DUE)
    maintain(tenant, day(0))
    with tenant_scope(tenant):
        assert dunning.run_dunning(tenant=tenant, today=day(30)) == 3
        assert dunning.run_dunning(tenant=tenant, today=day(30)) == 0
    assert steps_of(debt) == ["reminder", "final_notice", "referral"]


def test_the_agencys_own_ladder_applies(tenant, collections):
    collections.update_settings(
        dunning_ladder=[{"step": "letter", "after_days": 1}, {"step": "bailiff", "after_days": 60}]
    )
    debt = collections.debt(due_date=DUE)
    maintain(tenant, day(0))
    maintain(tenant, day(59))
    assert steps_of(debt) == ["letter"]
    maintain(tenant, day(60))
    assert steps_of(debt) == ["letter", "bailiff"]


def test_a_new_plan_stops_dunning_and_a_new_spell_of_arrears_starts_it_again(tenant, collections):
    debt = collections.debt(due_date=DUE)
    maintain(tenant, day(0))
    maintain(tenant, day(3))
    assert steps_of(debt) == ["reminder"]
    mandate = collections.mandate(debt.constituent)
    plan = collections.plan(debt, mandate, first_date=day(10), today=day(4))
    maintain(tenant, day(20))
    assert steps_of(debt) == ["reminder"]  # in a plan: no dunning
    with tenant_scope(tenant):
        plans.cancel_plan(plan=plan, reason="debtor stopped paying")
        debt.refresh_from_db()
    assert debt.state == Debt.State.IN_ARREARS
    # Cancelled "today" (the real date), so the new spell starts then; run the ladder
    # from there.
    since = debt.arrears_since
    with tenant_scope(tenant):
        dunning.run_dunning(tenant=tenant, today=since + dt.timedelta(days=3))
        dunning.run_dunning(tenant=tenant, today=since + dt.timedelta(days=3))
    assert steps_of(debt) == ["reminder", "reminder"]
