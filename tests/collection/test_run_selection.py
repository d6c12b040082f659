"""Which instalments a run on a given day picks, on each scheme's own calendar.

The scheme library has the date arithmetic (tests/collection/test_schemes_*); these tests
check that plans store the right submission day and that a run picks an instalment on that
day and not the day before, across month ends, leap years, weekends and bank holidays.
"""

from __future__ import annotations

import datetime as dt

import pytest

from collection.models import Mandate
from collection.schemes import Scheme, run_collection_date
from collection.selectors import due_instalments, schemes_open_on
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections

pytestmark = pytest.mark.django_db

D = dt.date
LONG_AGO = D(2022, 1, 1)


@pytest.fixture
def agencies(make_tenant):
    return {
        "sepa_core": Collections(make_tenant(), provider="bank_file"),
        "bacs": Collections(make_tenant(), provider="stripe"),
    }


def instalment_due(agencies, scheme: str, due: dt.date):
    setup = agencies[scheme]
    currency = "EUR" if scheme == "sepa_core" else "GBP"
    debt = setup.debt(amount=100, currency=currency)
    mandate = setup.mandate(debt.constituent, scheme=scheme)
    with tenant_scope(setup.tenant):
        Mandate.objects.filter(pk=mandate.pk).update(state=Mandate.State.ACTIVE)
    plan = setup.plan(debt, mandate, schedule=[(due, 100)], today=LONG_AGO)
    with tenant_scope(setup.tenant):
        return plan.instalments.get()


def picked(agencies, scheme, instalment, run_date) -> bool:
    tenant = agencies[scheme].tenant
    with tenant_scope(tenant):
        return due_instalments(tenant, run_date).filter(pk=instalment.pk).exists()


CASES = [
    # SEPA Core: settlement on a TARGET2 business day, submitted D-1.
    ("sepa_core", D(2024, 3, 1), D(2024, 2, 29), "leap day is the submission day"),
    ("sepa_core", D(2023, 3, 1), D(2023, 2, 28), "no leap day: the month end"),
    (
        "sepa_core",
        D(2024, 4, 1),
        D(2024, 3, 28),
        "Easter Monday rolls to Tuesday, Good Friday closed",
    ),
    ("sepa_core", D(2024, 6, 1), D(2024, 5, 31), "Saturday rolls to Monday"),
    ("sepa_core", D(2025, 1, 1), D(2024, 12, 31), "New Year's Day, across the year end"),
    ("sepa_core", D(2024, 12, 27), D(2024, 12, 24), "after Christmas and Boxing Day"),
    ("sepa_core", D(2024, 5, 1), D(2024, 4, 30), "Labour Day: TARGET2 closed"),
    # Bacs: the three-day cycle on England and Wales bank holidays.
    ("bacs", D(2024, 3, 1), D(2024, 2, 28), "leap year, two days before"),
    ("bacs", D(2024, 12, 25), D(2024, 12, 23), "Christmas rolls to the 27th"),
    ("bacs", D(2024, 5, 27), D(2024, 5, 23), "Spring bank holiday"),
    ("bacs", D(2024, 8, 31), D(2024, 8, 29), "Saturday at the month end"),
    ("bacs", D(2022, 9, 19), D(2022, 9, 15), "the 2022 state funeral"),
    ("bacs", D(2024, 5, 1), D(2024, 4, 29), "1 May is no Bacs holiday"),
]


@pytest.mark.parametrize("scheme,due,submit_on,why", CASES, ids=[c[3] for c in CASES])
def test_a_run_picks_an_instalment_on_its_submission_day(agencies, scheme, due, submit_on, why):
    instalment = instalment_due(agencies, scheme, due)
    assert instalment.submit_on == submit_on, why
    assert picked(agencies, scheme, instalment, submit_on)
    day_before = submit_on - dt.timedelta(days=1)
    assert not picked(agencies, scheme, instalment, day_before)


def test_month_end_plan_keeps_its_day_and_rolls_onto_business_days(agencies):
    setup = agencies["sepa_core"]
    debt = setup.debt(amount=301)
    mandate = setup.mandate(debt.constituent)
    plan = setup.plan(
        debt, mandate, frequency="monthly", count=3, first_date=D(2024, 1, 31), today=LONG_AGO
    )
    with tenant_scope(setup.tenant):
        rows = list(
            plan.instalments.order_by("sequence").values_list("due_date", "amount", "submit_on")
        )
    assert rows == [
        (D(2024, 1, 31), 101, D(2024, 1, 30)),
        (D(2024, 2, 29), 100, D(2024, 2, 28)),
        # Sunday 31 March 2024: Monday is Easter Monday, so it settles Tuesday 2 April and is
        # submitted on Thursday 28 March (Good Friday is closed as well).
        (D(2024, 3, 31), 100, D(2024, 3, 28)),
    ]


def test_no_scheme_runs_at_weekends_and_each_only_on_its_own_business_days(agencies):
    sepa = instalment_due(agencies, "sepa_core", D(2024, 5, 2))  # submitted 30 April
    bacs = instalment_due(agencies, "bacs", D(2024, 5, 3))  # submitted 1 May
    assert schemes_open_on(D(2024, 5, 4)) == []  # Saturday
    assert not picked(agencies, "sepa_core", sepa, D(2024, 5, 4))
    assert not picked(agencies, "bacs", bacs, D(2024, 5, 4))
    # 1 May: TARGET2 is closed, Bacs is open. The SEPA instalment (overdue since 30 April)
    # waits for 2 May; the Bacs one goes.
    assert schemes_open_on(D(2024, 5, 1)) == ["bacs"]
    assert not picked(agencies, "sepa_core", sepa, D(2024, 5, 1))
    assert picked(agencies, "bacs", bacs, D(2024, 5, 1))
    assert picked(agencies, "sepa_core", sepa, D(2024, 5, 2))


def test_an_overdue_instalment_asks_for_the_earliest_reachable_date():
    # Due Friday 1 March, but the run only happens on Monday 4 March (runs were paused).
    assert run_collection_date(D(2024, 3, 1), D(2024, 3, 4), Scheme.SEPA_CORE) == D(2024, 3, 5)
    assert run_collection_date(D(2024, 3, 1), D(2024, 3, 4), Scheme.BACS) == D(2024, 3, 6)
    # On time, the promised date stands; a bank buffer of one day moves nothing either,
    # because the instalment was scheduled with it.
    assert run_collection_date(D(2024, 3, 1), D(2024, 2, 29), Scheme.SEPA_CORE) == D(2024, 3, 1)
    assert run_collection_date(D(2024, 3, 1), D(2024, 2, 28), Scheme.SEPA_CORE, buffer_days=1) == D(
        2024, 3, 1
    )


def test_inactive_mandates_plans_and_debts_are_not_picked(agencies):
    instalment = instalment_due(agencies, "sepa_core", D(2024, 3, 1))
    setup = agencies["sepa_core"]
    with tenant_scope(setup.tenant):
        Mandate.objects.filter(pk=instalment.mandate_id).update(state=Mandate.State.PENDING)
    assert not picked(agencies, "sepa_core", instalment, D(2024, 2, 29))
