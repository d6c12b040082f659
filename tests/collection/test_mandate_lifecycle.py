"""Mandates over time: SEPA expiry after 36 unused months ends the plans on them."""

import datetime as dt

import pytest

from collection.models import Mandate, PaymentPlan
from collection.services import mandates
from tenants.scope import tenant_scope
from tests.collection.conftest import events_of

pytestmark = pytest.mark.django_db


def test_an_unused_sepa_mandate_expires_and_its_plan_is_cancelled(tenant, collections):
    _debt, unused, plan = collections.debt_in_plan(first_date=dt.date(2027, 6, 1))
    used = collections.mandate(collections.constituent())
    with tenant_scope(tenant):
        Mandate.objects.filter(pk=used.pk).update(last_presented_on=dt.date(2025, 6, 1))
        # Signed 2 January 2024: the last day of use is 1 January 2027.
        assert mandates.expire_unused_mandates(tenant=tenant, today=dt.date(2027, 1, 1)) == 0
        assert mandates.expire_unused_mandates(tenant=tenant, today=dt.date(2027, 1, 2)) == 1
        assert mandates.expire_unused_mandates(tenant=tenant, today=dt.date(2027, 1, 2)) == 0
        unused.refresh_from_db()
        used.refresh_from_db()
        plan.refresh_from_db()
    assert unused.state == Mandate.State.EXPIRED
    assert used.state == Mandate.State.ACTIVE
    assert plan.state == PaymentPlan.State.CANCELLED
    assert events_of("mandate.expired", unused.pk)
