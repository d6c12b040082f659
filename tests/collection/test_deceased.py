"""A death told to one agency stops collection in every agency the person is registered with."""

from __future__ import annotations

import datetime as dt

import pytest

from collection.models import Debt, Instalment, Mandate, PaymentPlan
from registration import services as registration_services
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections, dispatch_pending, events_of
from tests.hub.test_webhooks import deliver_everything
from tests.support.identifiers import random_bsn

pytestmark = pytest.mark.django_db


def test_constituent_deceased_suspends_their_debts_in_every_registered_agency(make_tenant):
    bsn = random_bsn()
    agencies = [Collections(make_tenant()) for _ in range(3)]
    registered, stranger = agencies[:2], agencies[2]
    setups = []
    for agency in registered:
        person = agency.constituent(bsn)
        debt = agency.debt(constituent=person)
        mandate = agency.mandate(person)
        plan = agency.plan(debt, mandate)
        second_debt = agency.debt(constituent=person, amount=500)  # no plan yet
        setups.append((agency, person, debt, second_debt, mandate, plan))
    stranger_debt, _stranger_mandate, _stranger_plan = stranger.debt_in_plan()
    assert len({person.pk for _, person, *_ in setups}) == 1

    reporter, person = setups[0][0], setups[0][1]
    with tenant_scope(reporter.tenant):
        registration_services.record_life_event(
            tenant=reporter.tenant,
            actor="test",
            constituent=person,
            kind="death",
            occurred_on=dt.date(2024, 3, 14),
        )
    deliver_everything()
    dispatch_pending()  # subscribers' own events (none should be left)

    for agency, _, debt, second_debt, mandate, plan in setups:
        with tenant_scope(agency.tenant):
            for obj in (debt, second_debt, mandate, plan):
                obj.refresh_from_db()
            instalments = set(plan.instalments.values_list("state", flat=True))
        assert debt.state == second_debt.state == Debt.State.SUSPENDED
        assert "deceased" in debt.suspended_reason
        assert mandate.state == Mandate.State.CANCELLED
        assert plan.state == PaymentPlan.State.CANCELLED
        assert instalments == {Instalment.State.CANCELLED}
        assert len(events_of("debt.suspended", debt.pk)) == 1
        assert len(events_of("mandate.cancelled", mandate.pk)) == 1
    with tenant_scope(stranger.tenant):
        stranger_debt.refresh_from_db()
    assert stranger_debt.state == Debt.State.IN_PLAN

    # Told again (a second agency reports the same death): nothing more happens.
    with tenant_scope(setups[1][0].tenant):
        registration_services.record_life_event(
            tenant=setups[1][0].tenant,
            actor="test",
            constituent=person,
            kind="death",
            occurred_on=dt.date(2024, 3, 14),
        )
    deliver_everything()
    for _, _, debt, _, mandate, _ in setups:
        assert len(events_of("debt.suspended", debt.pk)) == 1
        assert len(events_of("mandate.cancelled", mandate.pk)) == 1
